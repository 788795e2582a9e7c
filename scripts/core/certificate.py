"""The environment's HTTPS certificate, in ACM in the load balancer's region, as CERTIFICATE says:

- auto: the certificate setup requests for the record name ($NODE_ENV.$TLD, the apex for
  production) with DNS validation. Its validation CNAME (the one DescribeCertificate names, which
  ACM adds a few seconds after the request) goes into the hosted zone, and setup waits until ACM
  has ISSUED it. It carries the App and Environment tags, by which, with its name, a later setup
  finds it again instead of requesting a second one; destroy removes it and its validation record.
- an ACM certificate ARN: that certificate, checked to be in the region, ISSUED and covering the
  name; never removed.
- none: HTTP only.
"""

import jmespath
from botocore.exceptions import WaiterError

from .aws import search, tag_list, throttled, wait
from .dns import change_record, record_set
from .poll import TimedOut, wait_until
from .step import Context, StepError

IN_PLAY = ["PENDING_VALIDATION", "ISSUED"]  # what a later setup may reuse (not FAILED, EXPIRED, ...)
NAMED = ("CertificateSummaryList[?DomainName == '{name}' || contains(SubjectAlternativeNameSummaries || `[]`, "
         "'{name}')].CertificateArn")
EVERY_KEY_TYPE = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
DELETE_TIMEOUT = 300  # a deleted load balancer lets go of its certificate a little later
TAGS = "Tags[].[Key, Value]"
VALIDATION_RECORDS = "DomainValidationOptions[].ResourceRecord"
VALIDATION_TTL = 300


def domain_name(step: Context) -> str:
    return step.settings.record_name.rstrip(".")


def describe(step: Context, arn: str) -> dict:
    return step.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]


def own_certificates(step: Context, arns: list[str]) -> list[dict]:
    """Of the certificates `arns` (certificates_named), those setup requested for this environment:
    they carry its ownership tags. Described."""
    acm, owned = step.client("acm"), step.settings.ownership_tags.items()
    found = []
    for arn in arns:
        tags = dict(jmespath.search(TAGS, acm.list_tags_for_certificate(CertificateArn=arn)) or [])
        if all(tags.get(key) == value for key, value in owned):
            found.append(describe(step, arn))
    return found


def certificates_named(step: Context, statuses: list[str] | None = None) -> list[str]:
    """The ARNs of the account's certificates (in the region) for the record name, of any key type
    (ListCertificates lists RSA_2048 ones alone unless told), of `statuses` (None: any)."""
    filters = {"CertificateStatuses": statuses} if statuses else {}
    return search(step.client("acm"), "list_certificates", NAMED.format(name=domain_name(step)),
                  Includes={"keyTypes": EVERY_KEY_TYPE}, **filters)


def own_certificate(step: Context) -> dict | None:
    """This environment's pending or issued certificate; an issued one first."""
    found = own_certificates(step, certificates_named(step, IN_PLAY))
    return min(found, key=lambda certificate: certificate["Status"] != "ISSUED", default=None)


def names_of(certificate: dict) -> list[str]:
    return certificate.get("SubjectAlternativeNames") or [certificate["DomainName"]]


def covers(certificate: dict, name: str) -> bool:
    """Whether one of the certificate's names is `name`, or a wildcard for its parent domain."""
    return any(one == name or (one.startswith("*.") and name.partition(".")[2] == one[2:])
               for one in names_of(certificate))


def given_certificate(step: Context) -> dict:
    """The certificate CERTIFICATE names, checked: in the region, ISSUED, covering the record name."""
    settings, acm, name = step.settings, step.client("acm"), domain_name(step)
    arn, region = settings.certificate, settings.certificate.split(":")[3]
    if region != step.aws.region:
        raise StepError(f"CERTIFICATE is a certificate in {region}, but the load balancer is in {step.aws.region}: "
                        f"request or import one in {step.aws.region}, or set CERTIFICATE=auto")
    try:
        certificate = describe(step, arn)
    except acm.exceptions.ResourceNotFoundException:
        raise StepError(f"CERTIFICATE={arn} is no certificate of this account: fix it, or set "
                        "CERTIFICATE=auto") from None
    if certificate["Status"] != "ISSUED":
        raise StepError(f"CERTIFICATE={arn} is {certificate['Status']}, not ISSUED: validate it first, or set "
                        "CERTIFICATE=auto")
    if not covers(certificate, name):
        raise StepError(f"CERTIFICATE={arn} is for {' '.join(names_of(certificate))}, not for {name}: name a "
                        f"certificate that covers {name}, or set CERTIFICATE=auto")
    return certificate


def certificate_arn(step: Context) -> str | None:
    """The ISSUED certificate the HTTPS listener uses; None with CERTIFICATE=none."""
    settings = step.settings
    if not settings.https:
        return None
    if settings.certificate != "auto":
        return given_certificate(step)["CertificateArn"]
    found = own_certificate(step)
    if found is None or found["Status"] != "ISSUED":
        raise StepError(f"no ISSUED certificate for {domain_name(step)} yet: run "
                        f"`NODE_ENV={settings.node_env} make request-certificate` first")
    return found["CertificateArn"]


def planned_certificate(step: Context) -> str | None:
    """certificate_arn, or what stands for the certificate while request-certificate has not made it."""
    settings = step.settings
    if settings.https and settings.certificate == "auto":
        found = own_certificate(step)
        issued = found and found["Status"] == "ISSUED"
        return found["CertificateArn"] if issued else f"the certificate for {domain_name(step)}, once ISSUED"
    return certificate_arn(step)


def request(step: Context) -> str:
    """Request the certificate for the record name, tagged as this environment's; its ARN."""
    step.say(f"requesting a certificate for {domain_name(step)} from ACM (DNS validation)...")
    return step.client("acm").request_certificate(
        DomainName=domain_name(step), ValidationMethod="DNS",
        Tags=tag_list(step.settings.ownership_tags))["CertificateArn"]


def validation_records(step: Context, arn: str) -> list[dict]:
    """The CNAME records ACM validates the certificate by; it names them a few seconds after the request."""
    settings, records = step.settings, []

    def named():
        records[:] = jmespath.search(VALIDATION_RECORDS, describe(step, arn)) or []
        return bool(records), f"waiting for ACM to name the validation record of {domain_name(step)}"

    try:
        wait_until(named, timeout=settings.certificate_timeout, interval=settings.poll_interval, say=step.say,
                   bound="CERTIFICATE_TIMEOUT")
    except TimedOut as error:
        raise StepError(f"ACM named no validation record: {error}; run setup again later") from None
    return records


def put_validation_records(step: Context, zone: str, records: list[dict]) -> None:
    """UPSERT each validation CNAME in the hosted zone, unless it is there already."""
    for record in records:
        wanted = {"Name": record["Name"], "Type": record["Type"], "TTL": VALIDATION_TTL,
                  "ResourceRecords": [{"Value": record["Value"]}]}
        present = record_set(step, zone, record["Name"], record["Type"])
        if present and present.get("ResourceRecords") == wanted["ResourceRecords"]:
            step.say(f"validation record {record['Name'].rstrip('.')} already in the hosted zone.")
            continue
        step.say(f"creating validation record {record['Name'].rstrip('.')} in hosted zone {zone}...")
        change_record(step, zone, "UPSERT", wanted)


def wait_issued(step: Context, arn: str, zone: str) -> dict:
    """Wait (botocore's certificate_validated waiter, then until the status says so) until ACM has
    ISSUED the certificate; on time-out, say what to check."""
    settings, acm, name = step.settings, step.client("acm"), domain_name(step)
    interval, timeout, last = settings.poll_interval, settings.certificate_timeout, {}

    def progress(parsed):
        return f"certificate for {name}: {parsed.get('Certificate', {}).get('Status', 'unknown')}"

    def issued():
        last.update(describe(step, arn))
        return last["Status"] == "ISSUED", f"certificate for {name}: validated"

    try:
        wait(acm, "certificate_validated", timeout=timeout, interval=interval, say=step.say, progress=progress,
             CertificateArn=arn)
        wait_until(issued, timeout=timeout, interval=interval, say=step.say, bound="CERTIFICATE_TIMEOUT")
    except (WaiterError, TimedOut) as error:
        if isinstance(error, WaiterError) and throttled(error.last_response or {}):
            raise
        certificate = describe(step, arn)
        if certificate["Status"] == "ISSUED":
            return certificate
        if certificate["Status"] != "PENDING_VALIDATION":
            raise StepError(f"ACM did not issue the certificate for {name}: it is {certificate['Status']} "
                            f"({certificate.get('FailureReason', 'no reason given')})") from None
        servers = " ".join(step.client("route53").get_hosted_zone(Id=zone)["DelegationSet"]["NameServers"])
        raise StepError(f"the certificate for {name} is still PENDING_VALIDATION after {timeout:g}s "
                        f"(CERTIFICATE_TIMEOUT): check that {settings.tld} is delegated to hosted zone {zone} (its NS "
                        f"records, at the registrar or in the parent zone, must be {servers}), then run setup again") \
            from None
    return last


def delete(step: Context, arn: str) -> None:
    """Delete the certificate once no load balancer uses it any more."""
    acm, settings = step.client("acm"), step.settings

    def deleted():
        try:
            acm.delete_certificate(CertificateArn=arn)
        except acm.exceptions.ResourceInUseException:
            return False, f"certificate {arn} is still in use"
        return True, f"deleted certificate {arn}"

    try:
        wait_until(deleted, timeout=DELETE_TIMEOUT, interval=settings.poll_interval, say=step.say,
                   bound="the time a deleted load balancer holds its certificate")
    except TimedOut as error:
        raise StepError(f"{error}: run `NODE_ENV={settings.node_env} make destroy` again later") from None
