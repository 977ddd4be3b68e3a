"""A fake AWS Secrets Manager (GetSecretValue only) inside the local endpoint (ecr_endpoint.py).

AWS JSON 1.1: POST /, `X-Amz-Target: secretsmanager.GetSecretValue`, signing name
`secretsmanager`; every request's SigV4 signature is verified by botocore (sigv4_verify.py)
through the endpoint's Handler.verify, errors are JSON `{"__type", "message"}` with HTTP 400.

Secrets come from the endpoint config (never from a request):
    "secrets": {"<name>": {"secret_string": "...",          # the SecretString
                           "region"?: "us-east-1",          # where it lives (default us-east-1)
                           "account"?: "111111111111",      # owner (default: the caller's)
                           "allowed_roles"?: [role ARN]}}   # only sessions of these roles may read
A secret answers to its name, its full ARN (`arn:aws:secretsmanager:<region>:<account>:secret:
<name>-<6 chars>`) and that ARN without the suffix, but only when the request is signed for the
secret's region. The request log records operation, principal and the SecretId, never the value.
"""
import hashlib
import json
import string
import time

TARGET_PREFIX = "secretsmanager."
CONTENT_TYPE = "application/x-amz-json-1.1"
SERVICE = "secretsmanager"
DEFAULT_REGION = "us-east-1"


def _suffix(name: str) -> str:
    alphabet = string.ascii_letters + string.digits
    raw = hashlib.sha256(name.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in raw[:6])


def secret_arn(name: str, spec: dict, account: str) -> str:
    region = spec.get("region", DEFAULT_REGION)
    return "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (region, spec.get("account", account), name,
                                                         _suffix(name))


def _find(secrets: dict, secret_id: str, account: str, region: str):
    for name, spec in secrets.items():
        arn = secret_arn(name, spec, account)
        if secret_id in (name, arn, arn[:-7]) and spec.get("region", DEFAULT_REGION) == region:
            return name, spec, arn
    return None


def get_secret_value(endpoint_module, ep, principal, region: str, params: dict) -> dict:
    ApiError = endpoint_module.ApiError
    secret_id = params.get("SecretId")
    if not isinstance(secret_id, str) or not secret_id:
        raise ApiError(400, "ValidationException", "1 validation error detected: Value null at 'secretId' "
                       "failed to satisfy constraint: Member must not be null")
    found = _find(ep.config.get("secrets") or {}, secret_id, principal.account, region)
    if found is None:
        raise ApiError(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    name, spec, arn = found
    allowed = spec.get("allowed_roles")
    if principal.denied("secretsmanager:GetSecretValue") or (
            allowed is not None and getattr(principal, "role_arn", None) not in allowed):
        raise ApiError(400, "AccessDeniedException", "User: %s is not authorized to perform: "
                       "secretsmanager:GetSecretValue on resource: %s" % (principal.arn, secret_id))
    return {"ARN": arn, "Name": name, "VersionId": "00000000-0000-0000-0000-000000000001",
            "SecretString": spec["secret_string"], "VersionStages": ["AWSCURRENT"],
            "CreatedDate": round(time.time(), 3)}


OPERATIONS = {"GetSecretValue": get_secret_value}


def handle(endpoint_module, handler, target: str, body: bytes, parts) -> None:
    """Answers one `secretsmanager.*` request on the endpoint's Handler."""
    operation = target[len(TARGET_PREFIX):]
    log = handler.new_log(SERVICE, operation)
    try:
        verified = handler.verify(SERVICE, body, parts, log)
        if handler.apply_injection(SERVICE, operation, log):
            return
        operation_handler = OPERATIONS.get(operation)
        if operation_handler is None:
            raise endpoint_module.ApiError(400, "UnknownOperationException", "")
        try:
            params = json.loads(body or b"{}")
            if not isinstance(params, dict):
                raise ValueError
        except ValueError:
            raise endpoint_module.ApiError(400, "SerializationException", "Start of structure or map found "
                                           "where not expected.")
        log["secret_id"] = params.get("SecretId")
        answer = operation_handler(endpoint_module, handler.ep, verified.principal, verified.region, params)
    except endpoint_module.ApiError as err:
        return handler.finish_error(SERVICE, err, log)
    log["status"] = 200
    handler.ep.log(log)
    handler.send(200, json.dumps(answer).encode(), CONTENT_TYPE, {"x-amzn-RequestId": log["request_id"]})
