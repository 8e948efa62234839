// $default: messages with no matching route. The route has a route response, so the body
// goes back to the client.
export const handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({ error: 'unknown action', hint: 'send {"action":"echo","message":"hi"}', got: event.body }),
});
