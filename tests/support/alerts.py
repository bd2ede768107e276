"""Alerts as the sensors send them, built from the real Falco rules in
``../shared/data/falco/*.yaml`` (their priority, tags and output format).

- ``rule_alert(name)``: a Falco alert rendered the way Falco renders it with
  ``json_output: true``; ``POD`` the container and Kubernetes fields Falco appends.
- ``policy_event(rule)``: a Sysdig Secure runtime policy event for that Falco rule (severity the
  rule's priority as a syslog level); ``command_record(cmdline)``: an activity-audit command
  record as Sysdig Secure's API returns it. Both carry ``LABELS`` and container ``CONTAINER``.
"""

from __future__ import annotations

import re
from functools import cache

import yaml

from incidents import falco

from .data import shared_file

RULE_FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")

TIME = "2023-05-25T13:44:05.478445995Z"
TIME_NS = 1685022245478445995

# Values for the fields the rules' output formats name; others get "<field>-value".
SAMPLE_FIELDS = {
    "evt.type": "unlinkat",
    "user.name": "root",
    "user.uid": 0,
    "user.loginuid": -1,
    "proc.name": "bash",
    "proc.exepath": "/bin/bash",
    "proc.pname": "sshd",
    "proc.cmdline": "bash -c rm -f /root/.bash_history",
    "proc.tty": 34816,
    "proc.pid": 4242,
    "fd.name": "/root/.bash_history",
    "evt.arg.flags": "EXE_WRITABLE",
}


@cache
def falco_rules() -> dict[str, dict]:
    rules = {}
    for name in RULE_FILES:
        for doc in yaml.safe_load(shared_file("falco", name).read_text()):
            if isinstance(doc, dict) and "rule" in doc and "output" in doc:
                rules[doc["rule"]] = doc
    return rules


def falco_rule(name: str) -> dict:
    return falco_rules()[name]


def rule_alert(
    name: str,
    *,
    time: str = TIME,
    hostname: str = "web-01.store.fta.gov",
    container: dict | None = None,
    fields: dict | None = None,
) -> dict:
    """An alert as Falco emits it for rule ``name``: priority and tags from the rule file,
    ``output_fields`` with a value for every field of its output format (plus the container
    and Kubernetes fields Falco appends), ``output`` rendered from the format."""
    rule = falco_rule(name)
    output_fields = {}
    for field in re.findall(r"%([a-zA-Z0-9_.]+(?:\[[^\]]*\])?)", rule["output"]):
        output_fields[field] = SAMPLE_FIELDS.get(field, f"{field}-value")
    if container is not None:
        output_fields.update(container)
    output_fields.update(fields or {})
    output_fields["evt.time"] = falco.parse_time(time)[1]
    priority = str(rule["priority"]).strip().capitalize()

    def value(m):
        return str(output_fields.get(m.group(1), "<NA>"))

    text = re.sub(r"%([a-zA-Z0-9_.]+(?:\[[^\]]*\])?)", value, " ".join(rule["output"].split()))
    clock = time[11:29] if len(time) > 20 else time[11:19]
    return {
        "hostname": hostname,
        "output": f"{clock}: {priority} {text}",
        "priority": priority,
        "rule": rule["rule"],
        "source": "syscall",
        "tags": list(rule["tags"]),
        "time": time,
        "output_fields": output_fields,
    }


POD = {
    "container.id": "ee97d9c4186f",
    "container.image.repository": "registry.fta.gov/store/frontend",
    "container.image.tag": "1.4.2",
    "k8s.ns.name": "store",
    "k8s.pod.name": "frontend-7d9c-xk2lp",
}


# --- Sysdig Secure ----------------------------------------------------------------------------

T0_NS = 1685022245478445995  # 2023-05-25T13:44:05.478445995Z
CONTAINER = "ee97d9c4186f"
LABELS = {
    "host.hostName": "ip-10-0-1-17.ec2.internal",
    "container.name": "k8s_frontend_frontend-7d9c-xk2lp_store",
    "container.image.repo": "registry.fta.gov/store/frontend",
    "container.image.tag": "1.4.2",
    "kubernetes.cluster.name": "fta-prod",
    "kubernetes.namespace.name": "store",
    "kubernetes.pod.name": "frontend-7d9c-xk2lp",
    "kubernetes.deployment.name": "frontend",
}


def policy_event(
    rule: str = "Clear Log Activities",
    *,
    ts: int = T0_NS,
    event_id: str = "17b2e6a4b3c4d8e0f1a2b3c4d5e6f7a8",
    policy: str = "FTA runtime policy: tampering",
    labels: dict | None = None,
    container: str = CONTAINER,
    **extra,
) -> dict:
    """A runtime policy event as Sysdig Secure's event forwarder sends it for Falco rule
    ``rule``: tags and output fields from the rule file, severity its priority's syslog level,
    a capture action of 5 s before and 15 s after."""
    alert = rule_alert(rule, time=falco.format_ns(ts), hostname=LABELS["host.hostName"])
    fields = {k: v for k, v in alert["output_fields"].items() if k != "evt.time"}
    fields["container.id"] = container
    event = {
        "id": event_id,
        "type": "policy",
        "timestamp": ts,
        "originator": "policy",
        "category": "runtime",
        "source": "syscall",
        "name": policy,
        "description": "Tampering with logs and shell history",
        "severity": falco.PRIORITIES.index(alert["priority"]),
        "agentId": 1203944,
        "containerId": container,
        "machineId": "0a:1b:2c:3d:4e:5f",
        "content": {
            "policyId": 10032178,
            "baselineId": "",
            "ruleName": alert["rule"],
            "ruleType": 6,
            "ruleTags": alert["tags"],
            "output": alert["output"].split(": ", 1)[1],
            "fields": fields,
            "falsePositive": False,
            "policyOrigin": "Secure UI",
            "policyNotificationChannelIds": [],
        },
        "labels": dict(LABELS if labels is None else labels),
        "actions": [
            {
                "type": "POLICY_ACTION_CAPTURE",
                "successful": True,
                "token": "5c3cf1d6-2f3b-4f4e-9d3e-7e0a6f1c2b9d",
                "beforeEventNs": 5_000_000_000,
                "afterEventNs": 15_000_000_000,
            }
        ],
    }
    event.update(extra)
    return event


def command_record(
    cmdline: str = "bash -c rm -f /root/.bash_history",
    *,
    ts: int = T0_NS - 2_000_000_000,
    pid: int = 4242,
    ppid: int = 4200,
    comm: str = "bash",
    pcomm: str = "bash",
    labels: dict | None = None,
    container: str = CONTAINER,
    **extra,
) -> dict:
    """An activity-audit command record as Sysdig Secure's API returns it."""
    record = {
        "id": f"cmd-{ts}-{pid}",
        "type": "command",
        "timestamp": ts,
        "containerId": container,
        "cmdline": cmdline,
        "comm": comm,
        "pcomm": pcomm,
        "pid": pid,
        "ppid": ppid,
        "uid": 0,
        "username": "root",
        "cwd": "/root",
        "loginShellId": 4200,
        "loginShellDistance": 1,
        "hostname": LABELS["host.hostName"],
        "tty": 34816,
        "userLoginUid": -1,
        "userLoginName": "",
        "procExepath": f"/bin/{comm}",
        "labels": dict(LABELS if labels is None else labels),
    }
    record.update(extra)
    return record
