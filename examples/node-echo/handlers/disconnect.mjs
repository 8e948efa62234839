// $disconnect: the socket is already closed; the result is ignored.
export const handler = async (event) => {
  console.log('disconnect', event.requestContext.connectionId, event.requestContext.disconnectStatusCode);
  return { statusCode: 200 };
};
