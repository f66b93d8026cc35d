"""What an AWS stack costs a month: each resource type mlstack creates there, priced from the snapshot's `aws.*`
entries, or free with why. SageMaker pipelines and endpoints are billed per use by SageMaker: mlstack creates only
their roles, so they cost nothing until used (a note says so)."""

from __future__ import annotations

from typing import Any

from mlstack.cost.estimate import Line, Priced, Pricing, Qty, component_of, fixed, price_plan, scaled, share_of

NOTES = (
    "SageMaker bills the pipeline steps and endpoints you run, per use: mlstack creates only their roles",
    "RDS backups up to the database's size are free; S3 versioning keeps replaced objects (counted in storage_gb)",
    "AWS's first 100 GB a month out to the internet are free per account, across services: not subtracted here",
)


def rules(plan: Any) -> dict[str, Any]:
    def bucket(r: Any, p: Pricing, component: str) -> list[Line]:
        share = share_of(plan, r, component)  # the store's usage, split over its buckets
        return [
            p.line(component, r.name, "S3 Standard storage", "aws.s3.storage", scaled(p.use("storage_gb"), share)),
            p.line(
                component,
                r.name,
                "PUT, COPY, POST, LIST requests",
                "aws.s3.write_requests",
                scaled(p.use("write_requests_k"), share),
            ),
            p.line(component, r.name, "GET requests", "aws.s3.read_requests", scaled(p.use("read_requests_k"), share)),
            p.line(
                component, r.name, "data out to the internet", "aws.transfer.out", scaled(p.use("data_out_gb"), share)
            ),
        ]

    def repository(r: Any, p: Pricing, component: str) -> list[Line]:
        share = share_of(plan, r, component)
        return [p.line(component, r.name, "ECR storage", "aws.ecr.storage", scaled(p.use("registry_gb"), share))]

    def database(r: Any, p: Pricing, component: str) -> list[Line]:
        klass, storage = r.inputs.get("instanceClass"), float(r.inputs.get("allocatedStorage") or 0)
        multi = ".multi-az" if r.inputs.get("multiAz") else ""  # its own price (a standby in a second zone)
        az = "Multi-AZ" if multi else "Single-AZ"
        kind = r.inputs.get("storageType", "gp2")
        return [
            p.line(
                component,
                r.name,
                f"RDS PostgreSQL {klass} ({az})",
                f"aws.rds.postgresql.{klass}{multi}",
                p.use("hours_up"),
            ),
            p.line(component, r.name, f"RDS {kind} storage", f"aws.rds.storage.{kind}{multi}", fixed(storage)),
        ]

    def service(r: Any, p: Pricing, component: str) -> list[Line]:
        tasks = [t for t in plan.of_type("aws:ecs/taskDefinition:TaskDefinition") if component_of(plan, t) == component]
        if r.inputs.get("launchType") != "FARGATE" or len(tasks) != 1:
            return [Line(component, r.name, r.type, fixed(1), "service", None, unpriced="not a Fargate service")]
        count = float(r.inputs.get("desiredCount") or 0)
        vcpu = float(tasks[0].inputs.get("cpu") or 0) / 1024
        memory_gb = float(tasks[0].inputs.get("memory") or 0) / 1024
        hours: Qty = scaled(p.use("hours_up"), count)
        return [
            p.line(
                component,
                r.name,
                f"Fargate vCPU ({count:g} task x {vcpu:g} vCPU)",
                "aws.fargate.vcpu",
                scaled(hours, vcpu),
            ),
            p.line(
                component,
                r.name,
                f"Fargate memory ({count:g} task x {memory_gb:g} GB)",
                "aws.fargate.memory",
                scaled(hours, memory_gb),
            ),
        ]

    def load_balancer(r: Any, p: Pricing, component: str) -> list[Line]:
        hours = p.use("hours_up")
        lcu = p.use("lb_capacity_units")
        return [
            p.line(component, r.name, "Application Load Balancer hours", "aws.alb.hour", hours),
            p.line(
                component,
                r.name,
                "load balancer capacity units",
                "aws.alb.lcu",
                (hours[0] * lcu[0], hours[1] * lcu[1], hours[2] * lcu[2]),
            ),
        ]

    def log_group(r: Any, p: Pricing, component: str) -> list[Line]:
        months_kept = min(float(r.inputs.get("retentionInDays") or 30), 3650) / 30  # what retention keeps stored
        return [
            p.line(component, r.name, "CloudWatch Logs ingestion", "aws.logs.ingest", p.use("logs_gb")),
            p.line(
                component,
                r.name,
                f"CloudWatch Logs storage ({months_kept:g} months kept)",
                "aws.logs.storage",
                scaled(p.use("logs_gb"), months_kept),
            ),
        ]

    def secret(r: Any, p: Pricing, component: str) -> list[Line]:
        return [p.line(component, r.name, "Secrets Manager secret", "aws.secretsmanager.secret", fixed(1))]

    return {
        "aws:s3/bucket:Bucket": bucket,
        "aws:ecr/repository:Repository": repository,
        "aws:rds/instance:Instance": database,
        "aws:ecs/service:Service": service,
        "aws:lb/loadBalancer:LoadBalancer": load_balancer,
        "aws:cloudwatch/logGroup:LogGroup": log_group,
        "aws:secretsmanager/secret:Secret": secret,
    }


NO_CHARGE = "AWS charges nothing for it"
FREE = {
    "aws:iam/role:Role": NO_CHARGE,
    "aws:iam/rolePolicy:RolePolicy": NO_CHARGE,
    "aws:ec2/securityGroup:SecurityGroup": NO_CHARGE,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": NO_CHARGE,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": NO_CHARGE,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "a setting of the bucket",
    "aws:s3/bucketPolicy:BucketPolicy": "a setting of the bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "a setting of the bucket",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "a setting of the bucket (SSE-S3: no key charges)"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "a setting of the bucket (kept versions count as storage)",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "a setting of the repository",
    "aws:ecs/cluster:Cluster": "ECS charges for the tasks, not the cluster",
    "aws:ecs/taskDefinition:TaskDefinition": "priced with the service that runs it",
    "aws:lb/listener:Listener": "priced with the load balancer",
    "aws:lb/targetGroup:TargetGroup": "priced with the load balancer",
    "aws:rds/subnetGroup:SubnetGroup": NO_CHARGE,
    "aws:secretsmanager/secretVersion:SecretVersion": "priced with the secret",
}


def estimate(plan: Any, recipe: Any, pricing: Pricing) -> tuple[Priced, tuple[str, ...]]:
    return price_plan(plan, pricing, rules(plan), FREE), NOTES


def region(placement: Any) -> str:
    return str(placement.region)
