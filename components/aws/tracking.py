"""MLflow on ECS Fargate behind an internal HTTPS load balancer, with a private, encrypted RDS PostgreSQL.

Network path: allowed CIDRs -> ALB :443 (TLS 1.2+, the recipe's ACM certificate) -> tasks :5000 -> RDS :5432, each
hop a security group that admits only the previous one. Secrets (database and admin passwords, Flask key) are
generated, kept as Pulumi secrets and in one Secrets Manager secret that only the task's execution role may read;
ECS injects them as environment variables. The task role may touch only the stack's artifact bucket — no keys.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlstack.clients.models import TrackingClient
from mlstack.components import mlflow_server as srv
from mlstack.components.aws.iam import assume_role_policy
from mlstack.components.aws.settings import AwsMlflowTracking
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.outputs import TrackingOutputs, as_secret
from mlstack.recipe.naming import bounded_name

DEFAULT_TIER = "db.t4g.micro"
POSTGRES_VERSION = "17"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CPU, MEMORY = 1024, 2048


def task_role_policy(bucket_arn: str, prefix: str) -> str:
    """Objects under the artifact prefix of the stack's first bucket, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListArtifactPrefix",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": bucket_arn,
                    "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
                },
                {
                    "Sid": "ArtifactObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"{bucket_arn}/{prefix}/*",
                },
            ],
        }
    )


def execution_role_policy(secret_arn: str, log_group_arn: str) -> str:
    """What ECS itself needs to start the task: its secret and its log group (the image is public)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadServerSecret",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret_arn,
                },
                {
                    "Sid": "WriteServerLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*",
                },
            ],
        }
    )


class AwsTracking(Component[AwsMlflowTracking, None, TrackingOutputs, TrackingClient]):
    TYPE = "mlstack:aws:Tracking"

    def __init__(
        self, name: str, args: ComponentArgs[AwsMlflowTracking, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.name = name
        st, tags = self.settings, args.context.tags
        bucket = args.uses.store().buckets[0]
        self.region = self.context.placement.region
        self.prefix = st.artifact_prefix.strip("/")
        self.artifacts = bucket.uri.apply(lambda uri: f"{uri}/{self.prefix}")
        child = pulumi.ResourceOptions(parent=self)

        generated = srv.generate_secrets(name, st.auth, self)
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name_prefix=f"{self.context.stack}-{name}-",
            description="mlstack: MLflow server passwords",
            recovery_window_in_days=7,
            tags=tags,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-secret-value",
            secret_id=self.secret.id,
            secret_string=as_secret(pulumi.Output.all(**generated).apply(json.dumps)),
            opts=child,
        )

        self.lb_sg, self.task_sg, self.db_sg = self._security_groups()
        self.database = self._database(generated["db_password"])
        self.balancer, self.target_group, self.listener = self._load_balancer()
        if bucket.arn is None:  # the registry wires this server to the recipe's S3 store, whose buckets have ARNs
            raise ValueError("the AWS tracking server needs an S3 bucket (it grants its task role by ARN)")
        self.service = self._service(bucket.arn, list(generated))
        if st.dns_zone_id:
            aws.route53.Record(
                f"{name}-dns",
                zone_id=st.dns_zone_id,
                name=st.hostname,
                type="A",
                aliases=[
                    {"name": self.balancer.dns_name, "zone_id": self.balancer.zone_id, "evaluate_target_health": True}
                ],
                opts=child,
            )

        url = f"https://{st.hostname}"
        client = pulumi.Output.all(self.artifacts, self.balancer.dns_name).apply(
            lambda a: srv.client("mlflow", url, a[0], st.auth, dns_target=None if st.dns_zone_id else a[1])
        )
        secrets = srv.stack_secrets(generated)
        outputs = TrackingOutputs(client.apply(lambda c: c.tracking_uri))
        self.publish(outputs, client, secrets)

    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, ...]:
        st, tags, child = self.settings, self.context.tags, pulumi.ResourceOptions(parent=self)
        groups = tuple(
            aws.ec2.SecurityGroup(
                f"{self.name}-{role}",
                vpc_id=st.vpc_id,
                description=f"mlstack {self.context.stack}: MLflow {role}",
                tags={**tags, "Name": f"{self.context.stack}-{self.name}-{role}"},
                opts=child,
            )
            for role in ("load-balancer", "tasks", "database")
        )
        lb, task, db = groups
        rule = pulumi.ResourceOptions(parent=self)
        for i, cidr in enumerate(st.allowed_cidrs):
            kind = "cidr_ipv6" if ":" in cidr else "cidr_ipv4"
            aws.vpc.SecurityGroupIngressRule(
                f"{self.name}-https-from-{i}",
                security_group_id=lb.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                **{kind: cidr},
                description="HTTPS from an allowed network",
                tags=tags,
                opts=rule,
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{self.name}-lb-to-tasks",
            security_group_id=lb.id,
            ip_protocol="tcp",
            from_port=srv.PORT,
            to_port=srv.PORT,
            referenced_security_group_id=task.id,
            tags=tags,
            opts=rule,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{self.name}-tasks-from-lb",
            security_group_id=task.id,
            ip_protocol="tcp",
            from_port=srv.PORT,
            to_port=srv.PORT,
            referenced_security_group_id=lb.id,
            tags=tags,
            opts=rule,
        )
        # Tasks pull the image from ghcr.io and reach S3, Secrets Manager and CloudWatch over HTTPS only.
        aws.vpc.SecurityGroupEgressRule(
            f"{self.name}-tasks-https-out",
            security_group_id=task.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="HTTPS egress (image pull, AWS APIs)",
            tags=tags,
            opts=rule,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{self.name}-tasks-to-db",
            security_group_id=task.id,
            ip_protocol="tcp",
            from_port=5432,
            to_port=5432,
            referenced_security_group_id=db.id,
            tags=tags,
            opts=rule,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{self.name}-db-from-tasks",
            security_group_id=db.id,
            ip_protocol="tcp",
            from_port=5432,
            to_port=5432,
            referenced_security_group_id=task.id,
            tags=tags,
            opts=rule,
        )
        return groups

    def _database(self, password: pulumi.Output[str]) -> aws.rds.Instance:
        st = self.settings
        return rds_postgres(
            self.name,
            self.context.stack,
            st.subnet_ids,
            [self.db_sg.id],
            tier=st.database_tier or DEFAULT_TIER,
            storage_gb=st.database_storage_gb,
            password=password,
            tags=self.context.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _load_balancer(self) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup, aws.lb.Listener]:
        st, tags, child = self.settings, self.context.tags, pulumi.ResourceOptions(parent=self)
        balancer = aws.lb.LoadBalancer(
            f"{self.name}-lb",
            name=bounded_name(self.context.stack, self.name, 32),
            internal=True,
            load_balancer_type="application",
            subnets=st.subnet_ids,
            security_groups=[self.lb_sg.id],
            drop_invalid_header_fields=True,
            tags=tags,
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{self.name}-targets",
            port=srv.PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=st.vpc_id,
            health_check={"path": srv.HEALTH_PATH, "matcher": "200"},
            deregistration_delay=30,
            tags=tags,
            opts=child,
        )
        listener = aws.lb.Listener(
            f"{self.name}-https",
            load_balancer_arn=balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=st.certificate_arn,
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            tags=tags,
            opts=child,
        )
        return balancer, target_group, listener

    def _service(self, bucket_arn: pulumi.Output[str], secret_keys: list[str]) -> aws.ecs.Service:
        st, tags, child = self.settings, self.context.tags, pulumi.ResourceOptions(parent=self)
        stack = self.context.stack
        logs = aws.cloudwatch.LogGroup(
            f"{self.name}-logs", name=f"/mlstack/{stack}/{self.name}", retention_in_days=30, tags=tags, opts=child
        )
        execution = aws.iam.Role(
            f"{self.name}-execution-role",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            description="mlstack: starts the MLflow task (its secret and logs only)",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self.name}-execution-scoped",
            role=execution.id,
            opts=child,
            policy=pulumi.Output.all(self.secret.arn, logs.arn).apply(lambda a: execution_role_policy(a[0], a[1])),
        )
        task = aws.iam.Role(
            f"{self.name}-task-role",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            description="mlstack: the MLflow server (its artifact prefix only)",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self.name}-task-scoped",
            role=task.id,
            opts=child,
            policy=bucket_arn.apply(lambda arn: task_role_policy(arn, self.prefix)),
        )
        cluster = aws.ecs.Cluster(
            f"{self.name}-cluster",
            name=f"{stack}-{self.name}",
            settings=[{"name": "containerInsights", "value": "enabled"}],
            tags=tags,
            opts=child,
        )
        container = pulumi.Output.all(self.database.address, self.artifacts, self.secret.arn, logs.name).apply(
            lambda a: json.dumps(
                [
                    {
                        "name": "mlflow",
                        "image": st.image,
                        "essential": True,
                        "command": srv.COMMAND,
                        "portMappings": [{"containerPort": srv.PORT, "protocol": "tcp"}],
                        "environment": [
                            {"name": k, "value": v}
                            for k, v in sorted(srv.plain_env(a[0], a[1], st.hostname or "", st.auth).items())
                        ],
                        "secrets": [{"name": srv.SECRET_ENV[k], "valueFrom": f"{a[2]}:{k}::"} for k in secret_keys],
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": a[3],
                                "awslogs-region": self.region,
                                "awslogs-stream-prefix": "mlflow",
                            },
                        },
                    }
                ]
            )
        )
        definition = aws.ecs.TaskDefinition(
            f"{self.name}-task",
            family=f"{stack}-{self.name}",
            cpu=str(CPU),
            memory=str(MEMORY),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=execution.arn,
            task_role_arn=task.arn,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            container_definitions=container,
            tags=tags,
            opts=child,
        )
        return aws.ecs.Service(
            f"{self.name}-service",
            name="mlflow",
            cluster=cluster.arn,
            task_definition=definition.arn,
            desired_count=1,
            launch_type="FARGATE",
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            network_configuration={
                "subnets": st.subnet_ids,
                "security_groups": [self.task_sg.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {"target_group_arn": self.target_group.arn, "container_name": "mlflow", "container_port": srv.PORT}
            ],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            health_check_grace_period_seconds=120,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.listener]),
        )


def rds_postgres(
    name: str,
    stack: str,
    subnet_ids: pulumi.Input[list[str]],
    security_group_ids: list[pulumi.Input[str]],
    *,
    tier: str,
    storage_gb: int,
    password: pulumi.Output[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.rds.Instance:
    """MLflow's RDS for PostgreSQL (the aws target's, and an eks cluster's `database: managed`): in `subnet_ids`
    behind `security_group_ids`, not publicly accessible, encrypted gp3, backups kept 7 days and a final snapshot
    when it is deleted (named after the stack, with a suffix of this instance's); its database and owner with the
    generated password. PostgreSQL 15 and later on RDS take TLS only by default (the default parameter group's
    rds.force_ssl=1); MLflow's start script connects with sslmode=require."""
    subnets = aws.rds.SubnetGroup(
        f"{name}-db-subnets", name=f"{stack}-{name}", subnet_ids=subnet_ids, tags=tags, opts=opts
    )
    # the final snapshot's name is the stack's and this instance's: a stack deployed again after a destroy, or an
    # instance replaced (a change of what RDS cannot change in place), gets a new one (RDS refuses a final snapshot
    # whose name is taken, and that destroy would stop half way)
    replaced_by = json.dumps([stack, name, "postgres", srv.DB_NAME, srv.DB_USER, True, f"{stack}-{name}"])
    suffix = GeneratedSecret(
        f"{name}-db-snapshot-suffix",
        nbytes=16,
        secret=False,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(replacement_trigger=replaced_by)),
    ).value.apply(lambda v: "".join(c for c in v.lower() if c.isalnum())[:8])
    return aws.rds.Instance(
        f"{name}-db",
        identifier=f"{stack}-{name}",
        engine="postgres",
        engine_version=POSTGRES_VERSION,
        instance_class=tier,
        allocated_storage=storage_gb,
        storage_type="gp3",
        storage_encrypted=True,
        db_name=srv.DB_NAME,
        username=srv.DB_USER,
        password=password,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=security_group_ids,
        publicly_accessible=False,
        backup_retention_period=7,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        # destroy keeps the runs: a final snapshot
        skip_final_snapshot=False,
        final_snapshot_identifier=suffix.apply(lambda s: f"{stack}-{name}-final-{s}"),
        tags=tags,
        opts=holds_data(opts),
    )
