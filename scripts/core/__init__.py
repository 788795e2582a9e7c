"""The shared core of the step scripts; it never imports a step.

- settings  every setting declared once: read, checked, and the resource names derived from them
- aws       boto3 clients (region, endpoint, retries), paginate + JMESPath, tags; every call recorded
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
