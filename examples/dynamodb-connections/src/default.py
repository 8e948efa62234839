import json
import os


def handler(event, context):
    """Echo: answer the $default route with what the client sent and who it is.

    tableEndpoint shows where this function's AWS SDK would reach DynamoDB: wsgate gives its
    functions the endpoints its integrations use (AWS_ENDPOINT_URL_DYNAMODB), so boto3 here
    reads the same table the $connect integration writes.
    """
    rc = event["requestContext"]
    return {
        "statusCode": 200,
        "body": json.dumps({
            "connectionId": rc["connectionId"],
            "routeKey": rc["routeKey"],
            "echo": event.get("body"),
            "tableEndpoint": os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "AWS"),
        }),
    }
