"""$default handler that answers with the event it got (the shape of aws-samples'
apigw-ws-integrations Python function). Standard library only."""
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    logger.info("route %s from %s", event["requestContext"].get("routeKey"), event["requestContext"].get("connectionId"))
    return {
        "statusCode": 200,
        "body": json.dumps({
            "event": event,
            "function": context.function_name,
            "requestId": context.aws_request_id,
            "remainingMs": context.get_remaining_time_in_millis(),
        }),
    }
