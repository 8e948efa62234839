// A Lambda REQUEST authorizer: token=ok is allowed, anything else is Unauthorized (401).
exports.handler = async (event) => {
  if ((event.queryStringParameters || {}).token !== 'ok') throw new Error('Unauthorized');
  return {
    principalId: 'user-1',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { user: 'user-1' },
  };
};
