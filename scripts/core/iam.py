"""The IAM policies one environment's deployer needs: what the tool and Packer call, and nothing
more, scoped to this app and environment, as `make iam-policy` writes them.

Four customer managed policies (each holds 6,144 characters): `setup` (the network path, load
balancer, record, certificate, key pair and lock table: what setup and destroy change), `deploy`
(groups, launch templates and launching instances: what deploy, rollback and destroy change),
`bake` (Packer's build instance, key pair, images and snapshots, and the image cleanup) and
`read` (what they all read; alone it lets `make status` and `make history` run and change
nothing).

How each change is kept to the environment's own resources, even against a holder who re-tags:
- by name, where AWS names a resource in its ARN: the load balancer, target group, listeners,
  groups and launch configurations, the lock table, the key pair, the hosted zone (and in it
  only the environment's record names), the service-linked roles;
- by tags, where ids are AWS's: a resource is created only with `App` and `Environment` tags of
  this environment (`aws:RequestTag`), and changed or deleted only when it holds them
  (`aws:ResourceTag`); tags are put only at creation (`ec2:CreateAction`), so no holder can tag
  someone else's resource as its own (later only on images and snapshots that already hold this
  environment's tags: Packer's second tagging, and `Released`). The app's images and snapshots
  are shared by its environments (the primal image is the app's), so those go by `App` alone.
Left wider, and why (the README lists them): RunInstances on any subnet, security group and
base image (a launch uses them, it does not change them; the base image is a public one),
reading (Describe and List calls take no resource), requesting and deleting ACM certificates
(ACM takes no tag condition; a certificate in use cannot be deleted), and the validation record
names, which ACM chooses (`_<hash>.<record name>`).
"""

import json

MANAGED_POLICY_CHARACTERS = 6144  # a customer managed policy, whitespace not counted
APP, ENV = "aws:RequestTag/App", "aws:RequestTag/Environment"
HELD_APP, HELD_ENV = "aws:ResourceTag/App", "aws:ResourceTag/Environment"
VERSION = "2012-10-17"


def compact(document: dict) -> str:
    """A policy as AWS counts its size: without whitespace."""
    return json.dumps(document, separators=(",", ":"))


def statement(sid: str, actions: list[str], resources: list[str] | str, **condition) -> dict:
    body = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions) if len(actions) > 1 else actions[0],
            "Resource": resources}
    if condition:
        body["Condition"] = condition
    return body


def documents(*, app: str, node_env: str, record_name: str, zone_id: str, account: str,
              region: str) -> dict[str, dict]:
    """{"setup": document, "deploy": document, "bake": document, "read": document} for the environment `node_env` of
    `app`, whose alias is `record_name` (with its trailing dot) in the hosted zone `zone_id`."""
    name = f"{app}-{node_env}"
    at = f"{region}:{account}"
    ec2, elb, asg = f"arn:aws:ec2:{at}", f"arn:aws:elasticloadbalancing:{at}", f"arn:aws:autoscaling:{at}"
    image, snapshot = f"arn:aws:ec2:{region}::image/*", f"arn:aws:ec2:{region}::snapshot/*"
    ours = {"StringEquals": {HELD_APP: app, HELD_ENV: node_env}}       # a resource of this environment
    made_ours = {"StringEquals": {APP: app, ENV: node_env}}            # created as one
    apps = {"StringEquals": {HELD_APP: app}}                           # the app's images and snapshots
    record = record_name.rstrip(".")

    def tagging_on(action: str, resource: str | list[str]) -> dict:
        return statement(f"Tag{action}", ["ec2:CreateTags"], resource,
                         StringEquals={"ec2:CreateAction": action, APP: app, ENV: node_env})

    setup = [
        statement("Classic", [
            "elasticloadbalancing:AddTags", "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
            "elasticloadbalancing:ConfigureHealthCheck", "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:CreateLoadBalancerListeners", "elasticloadbalancing:CreateLoadBalancerPolicy",
            "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
            "elasticloadbalancing:SetLoadBalancerListenerSSLCertificate",
            "elasticloadbalancing:SetLoadBalancerPoliciesOfListener"], f"{elb}:loadbalancer/elb-{name}"),
        statement("Application", [
            "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:SetSecurityGroups"], f"{elb}:loadbalancer/app/elb-{name}/*"),
        statement("Listeners", ["elasticloadbalancing:ModifyListener"], f"{elb}:listener/app/elb-{name}/*/*"),
        statement("TargetGroup", [
            "elasticloadbalancing:AddTags", "elasticloadbalancing:CreateTargetGroup",
            "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:DeregisterTargets",
            "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:RegisterTargets"], f"{elb}:targetgroup/tg-{name}/*"),
        statement("ServiceLinkedRoles", ["iam:CreateServiceLinkedRole"],
                  f"arn:aws:iam::{account}:role/aws-service-role/*", StringEquals={"iam:AWSServiceName": [
                      "elasticloadbalancing.amazonaws.com", "autoscaling.amazonaws.com"]}),
        statement("Records", ["route53:ChangeResourceRecordSets"], f"arn:aws:route53:::hostedzone/{zone_id}", **{
            "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "CNAME"],
                                          "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"]},
            "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                record, f"_*.{record}"]}}),
        statement("DeployLock", ["dynamodb:CreateTable", "dynamodb:DeleteItem", "dynamodb:DeleteTable",
                                 "dynamodb:PutItem", "dynamodb:TagResource"],
                  f"arn:aws:dynamodb:{at}:table/deploy-lock-{name}"),
        statement("NewSecurityGroups", ["ec2:CreateSecurityGroup"], f"{ec2}:security-group/*", **made_ours),
        statement("NewSecurityGroupsVpc", ["ec2:CreateSecurityGroup"], f"{ec2}:vpc/*"),
        tagging_on("CreateSecurityGroup", f"{ec2}:security-group/*"),
        statement("OwnSecurityGroups", ["ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup",
                                        "ec2:RevokeSecurityGroupIngress"], f"{ec2}:security-group/*", **ours),
        statement("KeyPair", ["ec2:DeleteKeyPair", "ec2:ImportKeyPair"], f"{ec2}:key-pair/{name}"),
        tagging_on("ImportKeyPair", f"{ec2}:key-pair/{name}"),
        statement("Certificates", ["acm:RequestCertificate"], "*",
                  **{"ForAllValues:StringEquals": {"acm:DomainNames": [record]}}),
        statement("CertificateChanges", ["acm:AddTagsToCertificate", "acm:DeleteCertificate"],
                  f"arn:aws:acm:{at}:certificate/*"),
    ]
    deploy = [
        statement("NewGroups", ["autoscaling:CreateAutoScalingGroup"],
                  f"{asg}:autoScalingGroup:*:autoScalingGroupName/asg-{name}-*", **made_ours),
        statement("GroupTags", ["autoscaling:CreateOrUpdateTags"],
                  f"{asg}:autoScalingGroup:*:autoScalingGroupName/asg-{name}-*",
                  StringEquals={APP: app, ENV: node_env},
                  StringEqualsIfExists={HELD_APP: app, HELD_ENV: node_env}),
        statement("OwnGroups", ["autoscaling:DeleteAutoScalingGroup", "autoscaling:PutScalingPolicy",
                                "autoscaling:PutScheduledUpdateGroupAction", "autoscaling:ResumeProcesses",
                                "autoscaling:SuspendProcesses", "autoscaling:UpdateAutoScalingGroup"],
                  f"{asg}:autoScalingGroup:*:autoScalingGroupName/asg-{name}-*", **ours),
        statement("LaunchConfigs", ["autoscaling:CreateLaunchConfiguration", "autoscaling:DeleteLaunchConfiguration"],
                  f"{asg}:launchConfiguration:*:launchConfigurationName/lc-{name}-*"),
        statement("NewTemplates", ["ec2:CreateLaunchTemplate"], f"{ec2}:launch-template/*", **made_ours),
        tagging_on("CreateLaunchTemplate", f"{ec2}:launch-template/*"),
        statement("OwnTemplates", ["ec2:DeleteLaunchTemplate"], f"{ec2}:launch-template/*", **ours),
        statement("Launch", ["ec2:RunInstances"], f"{ec2}:instance/*", **made_ours),
        statement("LaunchFrom", ["ec2:RunInstances"], [
            f"{ec2}:volume/*", f"{ec2}:network-interface/*", f"{ec2}:subnet/*", f"{ec2}:security-group/*",
            image, f"{ec2}:key-pair/{name}", f"{ec2}:key-pair/packer_*"]),
        statement("LaunchFromOwnTemplate", ["ec2:RunInstances"], f"{ec2}:launch-template/*", **ours),
        tagging_on("RunInstances", [f"{ec2}:instance/*", f"{ec2}:volume/*", f"{ec2}:network-interface/*"]),
    ]
    bake = [
        statement("OwnInstances", ["ec2:StopInstances", "ec2:TerminateInstances"], f"{ec2}:instance/*", **ours),
        statement("PackerKeyPair", ["ec2:CreateKeyPair", "ec2:DeleteKeyPair"], f"{ec2}:key-pair/packer_*"),
        tagging_on("CreateKeyPair", f"{ec2}:key-pair/packer_*"),  # Packer tags it with run_tags
        statement("Bake", ["ec2:CreateImage"], [image, snapshot]),
        statement("BakeFrom", ["ec2:CreateImage"], f"{ec2}:instance/*", **ours),
        statement("TagBake", ["ec2:CreateTags"], [image, snapshot],
                  StringEquals={"ec2:CreateAction": "CreateImage", APP: app}),
        # Packer tags its image and snapshots again (tags, snapshot_tags) once they hold its run_tags.
        statement("TagOwnBake", ["ec2:CreateTags"], [image, snapshot],
                  StringEquals={HELD_APP: app, HELD_ENV: node_env, APP: app},
                  StringEqualsIfExists={ENV: node_env}),
        statement("Release", ["ec2:CreateTags"], image, StringEquals={HELD_APP: app, HELD_ENV: node_env},
                  **{"ForAllValues:StringEquals": {"aws:TagKeys": ["Released"]}}),
        statement("AppImages", ["ec2:DeregisterImage"], image, **apps),
        statement("AppSnapshots", ["ec2:DeleteSnapshot"], snapshot, **apps),
        statement("PackerOnRealAwsOnly", ["ec2:DeleteVolume"], f"{ec2}:volume/*", **apps),
    ]
    read = [
        statement("ReadOnly", [
            "acm:ListCertificates",
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeLaunchConfigurations",
            "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeScheduledActions",
            "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
            "ec2:DescribeClassicLinkInstances", "ec2:DescribeImages", "ec2:DescribeInstances",
            "ec2:DescribeInternetGateways", "ec2:DescribeKeyPairs", "ec2:DescribeLaunchTemplateVersions",
            "ec2:DescribeLaunchTemplates", "ec2:DescribeRegions", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSnapshots", "ec2:DescribeSubnets", "ec2:DescribeVolumes", "ec2:DescribeVpcClassicLink",
            "ec2:DescribeVpcs", "elasticloadbalancing:DescribeInstanceHealth", "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
            "route53:ListHostedZonesByName"], "*"),
        # Any zone's name: HOSTED_ZONE is checked to be TLD's before anything changes.
        statement("ReadZones", ["route53:GetHostedZone"], "arn:aws:route53:::hostedzone/*"),
        statement("ReadZone", ["route53:ListResourceRecordSets"], f"arn:aws:route53:::hostedzone/{zone_id}"),
        statement("ReadChanges", ["route53:GetChange"], "arn:aws:route53:::change/*"),
        statement("ReadCertificates", ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
                  f"arn:aws:acm:{at}:certificate/*"),
        statement("ReadAlarms", ["cloudwatch:DescribeAlarms"], f"arn:aws:cloudwatch:{at}:alarm:*"),
        statement("ReadHistory", ["dynamodb:DescribeTable", "dynamodb:GetItem"],
                  f"arn:aws:dynamodb:{at}:table/deploy-lock-{name}"),
        # The app's other environments' release histories, read alone: the release IMAGE_FROM
        # promotes, and the images they run or can roll back to, which cleanup keeps.
        statement("ReadAppHistories", ["dynamodb:GetItem"], f"arn:aws:dynamodb:{at}:table/deploy-lock-{app}-*"),
    ]
    return {kind: {"Version": VERSION, "Statement": statements}
            for kind, statements in (("setup", setup), ("deploy", deploy), ("bake", bake), ("read", read))}
