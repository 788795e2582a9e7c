"""deploy: launch the new group asg-$APP_NAME-$NODE_ENV-<stamp> from a new launch template
(pinned to its version 1, IMDSv2 required), in the load balancer's zones, attached to it, with
health check type ELB and a 300 s grace period, tagged with app, environment, role and image."""

from aws import describe_load_balancer, tag_list
from step import Step, StepError, run

GRACE_PERIOD = 300


def launch_asg(step: Step) -> None:
    settings, ec2 = step.settings, step.client("ec2")
    stamp = step.recall("stamp", made_by="check-deploy")
    image_id = step.recall("image_id", made_by="deployment-image")
    group_name, template_name = f"{settings.group_prefix}{stamp}", f"lt-{settings.name}-{stamp}"
    balancer = describe_load_balancer(step.client("elb"), settings.elb_name)
    if balancer is None:
        raise StepError(f"no load balancer {settings.elb_name}: run `make setup` first")
    tags = {**settings.ownership_tags, "Name": settings.name, "Role": "web", "Image": image_id}

    step.remember(group_name=group_name)  # before creating anything, so a rollback finds it all
    step.say(f"creating launch template {template_name} using {image_id}...")
    data = {
        "ImageId": image_id,
        "InstanceType": settings.instance_type,
        "KeyName": settings.key_name,
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": tag_list(tags)}],
    }
    if settings.security_groups:
        data["SecurityGroups"] = list(settings.security_groups)
    template = ec2.create_launch_template(
        LaunchTemplateName=template_name, LaunchTemplateData=data,
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": tag_list(settings.ownership_tags)}],
    )["LaunchTemplate"]

    step.say(f"creating {group_name} autoscaling group ({settings.desired_capacity} instance(s))...")
    try:
        step.client("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=group_name,
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
            AvailabilityZones=balancer["AvailabilityZones"],
            HealthCheckType="ELB",
            HealthCheckGracePeriod=GRACE_PERIOD,
            LoadBalancerNames=[settings.elb_name],
            MinSize=settings.min_capacity,
            MaxSize=settings.max_capacity,
            DesiredCapacity=settings.desired_capacity,
            Tags=[{**tag, "ResourceId": group_name, "ResourceType": "auto-scaling-group",
                   "PropagateAtLaunch": True} for tag in tag_list(tags)],
        )
    except Exception:
        ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])  # leave nothing behind
        raise


if __name__ == "__main__":
    run("deploy", launch_asg)
