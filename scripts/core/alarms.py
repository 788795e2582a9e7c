"""The CloudWatch alarms a soak watches (SOAK_ALARMS), metric or composite, by name."""

from .aws import search
from .step import Context, StepError

STATES = "[MetricAlarms, CompositeAlarms][][].[AlarmName, StateValue]"
IN_ALARM = "ALARM"


def alarm_states(step: Context) -> dict[str, str]:
    """{name: OK, ALARM or INSUFFICIENT_DATA} of every SOAK_ALARMS alarm; one that does not exist
    is refused (a typo would watch nothing)."""
    names = list(step.settings.soak_alarms)
    if not names:
        return {}
    found = dict(search(step.client("cloudwatch"), "describe_alarms", STATES, AlarmNames=names,
                        AlarmTypes=["CompositeAlarm", "MetricAlarm"]))
    missing = [name for name in names if name not in found]
    if missing:
        raise StepError(f"no CloudWatch alarm {missing[0]} in {step.aws.region}: fix SOAK_ALARMS (alarm names, "
                        "space separated)")
    return found
