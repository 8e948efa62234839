import json


def handler(event, context):
    """Echo: answer the $default route with what the client sent and who it is."""
    rc = event["requestContext"]
    return {
        "statusCode": 200,
        "body": json.dumps({"connectionId": rc["connectionId"], "routeKey": rc["routeKey"], "echo": event.get("body")}),
    }
