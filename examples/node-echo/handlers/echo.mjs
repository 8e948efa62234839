// echo: pushes the message back through the API Gateway Management API, exactly as the AWS
// tutorial does: the endpoint is built from the event's domainName and stage.
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';

export const handler = async (event) => {
  const { domainName, stage, connectionId } = event.requestContext;
  const client = new ApiGatewayManagementApiClient({ endpoint: 'https://' + domainName + '/' + stage });
  let message;
  try {
    message = JSON.parse(event.body).message;
  } catch {
    return { statusCode: 400, body: 'send JSON' };
  }
  await client.send(new PostToConnectionCommand({
    ConnectionId: connectionId,
    Data: JSON.stringify({ echo: message, from: connectionId }),
  }));
  return { statusCode: 200 };
};
