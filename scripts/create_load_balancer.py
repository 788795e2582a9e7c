"""setup: create the classic load balancer elb-$APP_NAME-$NODE_ENV, HTTP 80 -> 80, in SUBNETS
(or AVAILABILITY_ZONES of the default VPC), tagged with its app and environment. An existing one of this environment is
kept as it is; one that belongs to another app or environment is refused."""

from aws import describe_load_balancer, tag_list
from step import Step, StepError, run

LISTENER = {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 80}
TAGS = "TagDescriptions[0].Tags"


def create_load_balancer(step: Step) -> None:
    settings, elb = step.settings, step.client("elb")
    name, zones = settings.elb_name, " ".join(settings.availability_zones)
    if describe_load_balancer(elb, name):
        check_ownership(step)
        step.say(f"{name} load balancer already exists.")
        return
    where = {"AvailabilityZones": list(settings.availability_zones)}
    if settings.subnets:  # a VPC of your own: its subnets, and its security groups when given by id
        where = {"Subnets": list(settings.subnets),
                 **({"SecurityGroups": list(settings.security_groups)} if settings.security_groups else {})}
    step.say(f"creating {name} load balancer ({' '.join(settings.subnets) or zones})...")
    elb.create_load_balancer(LoadBalancerName=name, Listeners=[LISTENER], **where,
                             Tags=tag_list(settings.ownership_tags))


def check_ownership(step: Step) -> None:
    """Refuse a load balancer whose tags name another app or environment (untagged ones, made by
    the original scripts, are taken as this environment's)."""
    settings, elb = step.settings, step.client("elb")
    found = elb.describe_tags(LoadBalancerNames=[settings.elb_name])["TagDescriptions"][0]["Tags"]
    tags = {tag["Key"]: tag["Value"] for tag in found}
    others = {k: tags[k] for k, v in settings.ownership_tags.items() if k in tags and tags[k] != v}
    if others:
        raise StepError(f"load balancer {settings.elb_name} belongs to {others}, not to "
                        f"{settings.ownership_tags}: choose another APP_NAME or NODE_ENV")


if __name__ == "__main__":
    run("setup", create_load_balancer)
