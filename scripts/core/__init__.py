"""The shared core of the step scripts; it never imports a step.

- settings  every setting declared once: read, checked, and the resource names derived from them
- aws       botocore clients (region, endpoint, retries), paginate + JMESPath, tags; every call recorded
- step      what a step script shares: settings, clients, progress lines, hand-off state, one way to fail
- plan      decide, then do: a run's changes as data (Change), planned ahead and carried out in order
- record    the record of one run: its progress lines, every AWS call, Packer's logs, its failure
- poll      the one bounded polling loop, with an injectable clock
- balancer  the load balancer, classic or application, behind one interface
- dns       the Route 53 hosted zone, the environment's ALIAS record, one record's change
- certificate  the HTTPS certificate in ACM: found, requested, validated in the zone, checked
- groups    the environment's Auto Scaling groups and launch settings; retiring groups, or keeping
            them warm for a soak and bringing them back
- alarms    the CloudWatch alarms a soak watches
- images    the app's images: fingerprints of their inputs, the environment's, which are in use, deleting one
            with its snapshots
- packer    baking an image with the real Packer (-machine-readable)
- lock      the deploy lock (a DynamoDB conditional put)
- release   the release in flight (or in its soak): starting one, rolling it back
- history   the release history, kept in AWS (the lock table): every release, its outcome
- iam       the IAM policies one environment's deployer needs, scoped to its names and tags
- local     running the tool against the local emulator (the demo and the bench)
"""

import atexit
import gc

# Every step is a short-lived process whose start (botocore's imports, then its service models: EC2's
# is 4 MB of JSON) allocates objects by the hundred thousand: at Python's default threshold (700) the
# garbage collector makes some 200 passes over them before the first AWS call. A higher first
# threshold still collects cycles, in a twentieth of the passes: about 0.1 s of CPU less per step.
gc.set_threshold(50_000, 20, 20)
# At its exit the interpreter makes full collections over all it still holds (those models too)
# before it frees it: about 0.3 s of CPU per step. Frozen by then, they are freed without those
# passes. (Every file the tool writes is closed or line-buffered by then; none waits on a cycle.)
atexit.register(gc.freeze)
