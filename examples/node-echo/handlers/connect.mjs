// $connect: accept every client (a 2xx statusCode accepts the WebSocket handshake).
export const handler = async (event) => {
  console.log('connect', event.requestContext.connectionId);
  return { statusCode: 200 };
};
