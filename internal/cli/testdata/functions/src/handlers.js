// Handlers that fail in the ways the gateway must answer with AWS's error frame.
exports.throws = async () => { throw new Error('handler threw'); };
exports.sleeps = async () => new Promise((resolve) => setTimeout(resolve, 60000));
exports.crashes = async (event) => {
  if (JSON.parse(event.body).action === 'crash') process.exit(7);
  return { statusCode: 200, body: 'pid ' + process.pid };
};
