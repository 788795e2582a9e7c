"""The corrections of moto's ACM, and of the load balancers' use of its certificates, numbered on
from corrections.py. moto issues a DNS-validated certificate after MOTO_ACM_VALIDATION_WAIT seconds
whether or not its validation record exists, lets listeners take a certificate that is not
issued, keeps a certificate "in use" by a load balancer long gone, and deletes one in use.

DNS as the emulator has it: a record resolves when it is in the public hosted zone that holds its
name (the longest zone name it ends in) and that zone is delegated: every zone is, unless a test
says Emulator.dns.undelegate(zone id), as when the domain's registrar names other name servers."""

from moto.acm.exceptions import AWSError
from moto.acm.models import AWSCertificateManagerBackend, CertBundle
from moto.elb.exceptions import ELBClientError
from moto.elb.models import elb_backends
from moto.elbv2.models import ELBv2Backend, elbv2_backends
from moto.route53.models import route53_backends

from .health import latest_emulator

PENDING, ISSUED = "PENDING_VALIDATION", "ISSUED"


class Dns:
    """Which hosted zones public DNS asks: all of them, but those undelegated."""

    def __init__(self) -> None:
        self.undelegated: set[str] = set()

    def undelegate(self, zone_id: str) -> None:
        self.undelegated.add(zone_id.removeprefix("/hostedzone/"))

    def clear(self) -> None:
        self.undelegated.clear()


def dns() -> Dns:
    emulator = latest_emulator()
    return emulator.dns if emulator else Dns()


def resolves(account: str, name: str, kind: str, value: str) -> bool:
    """Whether public DNS answers `name` `kind` with `value`."""
    name, value = name.lower().rstrip(".") + ".", value.lower().rstrip(".")
    zones = [zone for backend in dict.values(route53_backends.get(account, {})) for zone in backend.zones.values()
             if not zone.private_zone and (name == zone.name or name.endswith("." + zone.name))]
    if not zones:
        return False
    longest = max(len(zone.name) for zone in zones)
    for zone in (zone for zone in zones if len(zone.name) == longest and zone.resource_id not in dns().undelegated):
        for record in zone.rrsets:
            values = [one if isinstance(one, str) else one.get("Value", "") for one in record.records or []]
            if record.name.lower() == name and record.type == kind and value in [v.lower().rstrip(".") for v in values]:
                return True
    return False


def _patch_dns_validation() -> None:
    """14. A DNS-validated certificate is issued as ACM issues it: DescribeCertificate names no
    validation record yet in its first answer (AWS adds it a few seconds after the request); the
    certificate stays PENDING_VALIDATION until each validation CNAME it names resolves; the first
    answer after that shows the validations SUCCESS but the certificate still PENDING_VALIDATION,
    the next ISSUED (moto: ISSUED after a fixed wait, with or without the record)."""
    check = CertBundle.check
    describe = CertBundle.describe

    def no_timed_issue(self) -> None:
        status = self.status
        check(self)  # expiry
        if status == PENDING and self.status == ISSUED:
            self.status = PENDING  # moto's timed issue: not how ACM works

    def describe_certificate(self, arn: str) -> CertBundle:
        bundle = self.get_certificate(arn)
        bundle.answers = getattr(bundle, "answers", 0) + 1
        if bundle.type == "AMAZON_ISSUED" and bundle.status == PENDING and bundle.answers > 1:
            records = describe(bundle)["Certificate"]["DomainValidationOptions"]
            if all(resolves(self.account_id, r["ResourceRecord"]["Name"], r["ResourceRecord"]["Type"],
                            r["ResourceRecord"]["Value"]) for r in records):
                if getattr(bundle, "validated", False):
                    bundle.status = ISSUED
                bundle.validated = True
        return bundle

    def described(self) -> dict:
        found = describe(self)
        certificate = found["Certificate"]
        for option in certificate.get("DomainValidationOptions", []):
            if getattr(self, "answers", 0) <= 1:
                option.pop("ResourceRecord", None)
            option["ValidationStatus"] = "SUCCESS" if self.status == ISSUED or getattr(self, "validated", False) \
                else self.status
        return found

    CertBundle.check = no_timed_issue
    CertBundle.describe = described
    AWSCertificateManagerBackend.describe_certificate = describe_certificate


def load_balancers_using(arn: str) -> list[str]:
    """The ARNs of the load balancers (classic and application) with a listener that uses the certificate."""
    _, _, _, region, account, _ = arn.split(":", 5)
    classic = elb_backends.get(account, {}).get(region)
    application = elbv2_backends.get(account, {}).get(region)
    using = [f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{lb.name}"
             for lb in (classic.load_balancers.values() if classic else [])
             if any(listener.ssl_certificate_id == arn for listener in lb.listeners)]
    using += [lb.arn for lb in (application.load_balancers.values() if application else [])
              if any(arn in (listener.certificates or []) for listener in lb.listeners.values())]
    return using


def _patch_certificate_use() -> None:
    """15. A listener takes only an ISSUED certificate (AWS: CertificateNotFound, "Certificate '<arn>'
    not found", for one still pending); a certificate is in use (InUseBy) while a listener uses it,
    and DeleteCertificate refuses it then (ResourceInUseException). moto: any certificate, in use
    by every load balancer that ever used it, deleted even while in use."""
    set_in_use = AWSCertificateManagerBackend.set_certificate_in_use_by
    delete = AWSCertificateManagerBackend.delete_certificate
    certificate_exists = ELBv2Backend._certificate_exists

    def refuse_unless_issued(backend: AWSCertificateManagerBackend, arn: str) -> None:
        bundle = backend._certificates.get(arn)
        if bundle is not None and bundle.status != ISSUED:
            raise ELBClientError("CertificateNotFound", f"Certificate '{arn}' not found")

    def set_certificate_in_use_by(self, arn: str, load_balancer_name: str) -> None:
        refuse_unless_issued(self, arn)
        set_in_use(self, arn, load_balancer_name)

    def _certificate_exists(self, certificate_arn: str) -> bool:
        from moto.acm.models import acm_backends
        refuse_unless_issued(acm_backends[self.account_id][self.region_name], certificate_arn)
        return certificate_exists(self, certificate_arn)

    def delete_certificate(self, arn: str) -> None:
        if arn in self._certificates and load_balancers_using(arn):
            raise AWSError(f"Certificate {arn} in use by {', '.join(load_balancers_using(arn))}",
                           exception_type="ResourceInUseException")
        delete(self, arn)

    AWSCertificateManagerBackend.set_certificate_in_use_by = set_certificate_in_use_by
    AWSCertificateManagerBackend.delete_certificate = delete_certificate
    ELBv2Backend._certificate_exists = _certificate_exists
    CertBundle.in_use_by = property(lambda bundle: load_balancers_using(bundle.arn), lambda bundle, value: None)


CORRECTIONS = (_patch_dns_validation, _patch_certificate_use)
