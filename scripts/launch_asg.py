"""deploy: launch the new group asg-$APP_NAME-$NODE_ENV-<stamp> from a new launch template (pinned
to its version 1, IMDSv2 required) or, with LAUNCH_KIND=configuration, a launch configuration
lc-$APP_NAME-$NODE_ENV-<stamp>, its instances in the security group $APP_NAME-$NODE_ENV-instances
(and SECURITY_GROUPS), with the environment's app config (deploy/env/$NODE_ENV.json) as their user
data, which the app reads at boot over IMDSv2; in SUBNETS (or the load balancer's zones), attached to the load balancer,
with health check type ELB and a 300 s grace period, tagged with app, environment, role and image,
of the capacity lookup-asg chose (carried over from the serving group); with SCALING_METRIC, its
target-tracking policy goes on at once, before any of its instances takes traffic, and so do the
serving group's scheduled actions; its lifecycle hooks are the new group's from its creation
(lookup-asg recorded both)."""

import base64
from datetime import UTC, datetime

from core.aws import tag_list
from core.balancer import load_balancer
from core.groups import create_launch_configuration
from core.network import instance_security_groups
from core.plan import Change, Planned
from core.release import alone, app_user_data
from core.settings import Settings
from core.step import Step, StepError, completed, run

GRACE_PERIOD = 300
IMDS_V2 = {"HttpTokens": "required", "HttpEndpoint": "enabled"}


def launch_asg(step: Step) -> None:
    settings = step.settings
    stamp = step.recall("stamp", made_by="check-deploy")
    image_id = step.recall("image_id", made_by="deployment-image")
    capacity = step.recall("capacity", made_by="lookup-asg")
    group_name = f"{settings.group_prefix}{stamp}"
    state = step.state()
    if state.group_name == group_name:
        raise StepError(f"release {stamp} is already launched as {group_name}: run "
                        f"`NODE_ENV={settings.node_env} make check-deploy` first, for a new release")
    balancer = load_balancer(step)
    tags = {**settings.ownership_tags, "Name": settings.name, "Role": "web", "Image": image_id}

    step.remember(group_name=group_name)  # before creating anything, so a rollback finds it all
    with completed():  # interrupted, the template and the group are made first: what a rollback then finds
        launch = (launch_configuration if settings.launch_kind == "configuration" else launch_template)(
            step, f"{settings.name}-{stamp}", image_id, tags)
        where = ({"VPCZoneIdentifier": ",".join(settings.subnets)} if settings.subnets
                 else {"AvailabilityZones": balancer.zones()})
        step.say(f"-> {launch_change(settings, stamp, capacity, image_id).line()}")
        step.client("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=group_name,
            **launch,
            **where,
            HealthCheckType="ELB",
            HealthCheckGracePeriod=GRACE_PERIOD,
            **balancer.attachment(),
            MinSize=capacity["min"],
            MaxSize=capacity["max"],
            DesiredCapacity=capacity["desired"],
            **hooks(step, group_name, state.lifecycle_hooks or []),
            Tags=[{**tag, "ResourceId": group_name, "ResourceType": "auto-scaling-group", "PropagateAtLaunch": True}
                  for tag in tag_list(tags)],
        )
    if settings.scaling_metric:
        put_scaling_policy(step, group_name)
    carry_scheduled_actions(step, group_name, state.scheduled_actions or [])


def plan(step: Step, planned: Planned) -> list[Change]:
    planned.group = step.settings.group_prefix + planned.stamp
    return [launch_change(step.settings, planned.stamp, planned.capacity, planned.image,
                          f"the id of {planned.image}" if planned.image_pending else "")]


def launch_change(settings: Settings, stamp: str, capacity: dict, image: str, pending: str = "") -> Change:
    return Change("launch", f"group {settings.group_prefix}{stamp}", f"{capacity['desired']} instance(s), min "
                  f"{capacity['min']}, max {capacity['max']}, from {image}", capacity.get("why", ""), pending)


def hooks(step: Step, group_name: str, found: list[dict]) -> dict:
    """The serving group's lifecycle hooks (lookup-asg), given at creation so that they hold for the
    new group's first instances too (a hook put later misses the instances already launching)."""
    for hook in found:
        notifies = f", notifying {hook['NotificationTargetARN']}" if hook.get("NotificationTargetARN") else ""
        notifies += f" through role {hook['RoleARN']}, which needs iam:PassRole" if hook.get("RoleARN") else ""
        step.say(f"carrying lifecycle hook {hook['LifecycleHookName']} ({hook['LifecycleTransition']}{notifies}) "
                 f"over to {group_name}...")
    return {"LifecycleHookSpecificationList": found} if found else {}


def carry_scheduled_actions(step: Step, group_name: str, actions: list[dict]) -> None:
    """The serving group's scheduled actions (lookup-asg), on the new group: a recurring one from
    now on, a one-time one still to come; one whose time has passed is not carried (AWS refuses
    times in the past)."""
    now = datetime.now(UTC)
    for action in actions:
        start, end = (datetime.fromisoformat(action[key]) if action.get(key) else None
                      for key in ("StartTime", "EndTime"))
        if end and end <= now or start and start <= now and not action.get("Recurrence"):
            step.say(f"not carrying scheduled action {action['ScheduledActionName']} over: its time has passed")
            continue
        if start and start <= now:
            action = {key: value for key, value in action.items() if key != "StartTime"}  # recurring: from now on
        step.say(f"carrying scheduled action {action['ScheduledActionName']} over to {group_name} "
                 f"({action.get('Recurrence') or action.get('StartTime')})...")
        step.client("autoscaling").put_scheduled_update_group_action(AutoScalingGroupName=group_name, **action)


def put_scaling_policy(step: Step, group_name: str) -> None:
    """The target-tracking policy SCALING_METRIC and SCALING_TARGET describe."""
    settings = step.settings
    metric = {"PredefinedMetricType": "ASGAverageCPUUtilization"}
    if settings.scaling_metric == "requests":
        balancer = load_balancer(step)
        metric = {"PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": balancer.resource_label()}
    step.say(f"putting a target-tracking policy on {group_name}: {metric['PredefinedMetricType']} at "
             f"{settings.scaling_target:g}...")
    step.client("autoscaling").put_scaling_policy(
        AutoScalingGroupName=group_name, PolicyName=f"target-{settings.scaling_metric}",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"PredefinedMetricSpecification": metric, "TargetValue": settings.scaling_target})


def launch_template(step: Step, name: str, image_id: str, tags: dict) -> dict:
    settings = step.settings
    step.say(f"creating launch template lt-{name} using {image_id}, with deploy/env/{settings.node_env}.json as "
             "its user data...")
    user_data = base64.b64encode(app_user_data(settings).encode()).decode()  # a template takes it encoded
    data = {"ImageId": image_id, "InstanceType": settings.instance_type, "KeyName": settings.key_name,
            "MetadataOptions": IMDS_V2, "SecurityGroupIds": instance_security_groups(step), "UserData": user_data,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": tag_list(tags)}]}
    template = step.client("ec2").create_launch_template(
        LaunchTemplateName=f"lt-{name}", LaunchTemplateData=data,
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": tag_list(settings.ownership_tags)}],
    )["LaunchTemplate"]
    return {"LaunchTemplate": {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"}}


def launch_configuration(step: Step, name: str, image_id: str, _tags: dict) -> dict:
    """Launch configurations cannot be tagged: they are this environment's by their exact name."""
    settings = step.settings
    step.say(f"creating launch configuration lc-{name} using {image_id}, with deploy/env/{settings.node_env}.json "
             "as its user data...")
    create_launch_configuration(step, LaunchConfigurationName=f"lc-{name}", ImageId=image_id,
                                InstanceType=settings.instance_type, KeyName=settings.key_name,
                                MetadataOptions=IMDS_V2, SecurityGroups=instance_security_groups(step),
                                UserData=app_user_data(settings))  # botocore encodes it
    return {"LaunchConfigurationName": f"lc-{name}"}


if __name__ == "__main__":
    run("deploy", alone(launch_asg))
