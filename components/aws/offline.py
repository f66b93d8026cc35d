"""How the offline plan fakes the aws provider: the attributes AWS computes for a resource (ARNs, URLs, names), so
client outputs render and policy checks see realistic values. Pure functions; the engine's mocks call them."""

from __future__ import annotations

from typing import Any

from mlstack.components.aws import settings as s

ACCOUNT = "123456789012"  # placeholder account in computed attributes
# What the plan answers for values AWS assigns on deploy: shown as `<known after deploy>`.
# Subnets' address ranges, as a plan answers a lookup (192.0.2.128/25 of TEST-NET-1: never a real network)
SUBNET_RANGES = tuple(f"192.0.2.{128 + 16 * k}/28" for k in range(8))
PLACEHOLDERS = (ACCOUNT, "abcdefghijkl", "1234567890", "Z32O12XQLNTSW2", "0123456789abcdef", "AbCdEf", *SUBNET_RANGES)


def attributes(typ: str, name: str, inputs: dict[str, Any], placement: s.AwsTarget) -> dict[str, Any]:
    region = placement.region or "region"
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or name
        return {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket}
    if typ == "aws:ecr/repository:Repository":
        repo = inputs.get("name") or name
        return {
            "arn": f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}",
            "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}",
            "name": repo,
        }
    if typ == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "name": name}
    if typ == "aws:rds/instance:Instance":
        host = f"{inputs.get('identifier') or name}.abcdefghijkl.{region}.rds.amazonaws.com"
        return {"address": host, "endpoint": f"{host}:5432", "arn": f"arn:aws:rds:{region}:{ACCOUNT}:db:{name}"}
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        lb = inputs.get("name") or name
        return {
            "dnsName": f"internal-{lb}-1234567890.{region}.elb.amazonaws.com",
            "zoneId": "Z32O12XQLNTSW2",
            "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{lb}/0123456789abcdef",
        }
    if typ == "aws:secretsmanager/secret:Secret":
        secret = f"{inputs.get('namePrefix') or name}AbCdEf"
        return {"arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}", "name": secret}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs.get('name') or name}"}
    if typ.startswith("aws:") and "arn" not in inputs:  # every other AWS resource: an ARN in its service
        service, _, kind = typ.split(":")[1].partition("/")
        return {"arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}/{inputs.get('name') or name}"}
    return {}


def call(placement: s.AwsTarget, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """What data-source calls answer: caller identity and region; a subnet's address range (`subnet_range`)."""
    if token == "aws:ec2/getSubnet:getSubnet":
        return {"id": args.get("id"), "cidrBlock": subnet_range(str(args.get("id")))}
    return {"accountId": ACCOUNT, "region": placement.region}


def subnet_range(subnet_id: str) -> str:
    """A subnet's stand-in address range, chosen by its id (the same on every run): one of SUBNET_RANGES."""
    import zlib

    return SUBNET_RANGES[zlib.crc32(subnet_id.encode()) % len(SUBNET_RANGES)]
