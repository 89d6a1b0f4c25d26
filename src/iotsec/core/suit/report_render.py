"""Readable lines for a SUIT_Report (``iotsec suit report show``), names from the registries."""

from __future__ import annotations

import contextlib
from typing import Any

from iotsec.core import cbor
from iotsec.core.suit.report import REASON_TEXT, SYSTEM_COMPONENT_ID, Reason, SuitRecord, SuitReport
from iotsec.errors import IotSecError


def _param_text(props: dict[int, Any]) -> str:
    from iotsec.core.suit.registry import Parameter, label_name

    parts = []
    for k, v in props.items():
        name = "reason-text" if k == REASON_TEXT else label_name(Parameter, k)
        shown: object = v
        if k == int(Parameter.IMAGE_DIGEST) and isinstance(v, bytes):
            shown = "h'" + v.hex() + "'"
            with contextlib.suppress(IotSecError, ValueError, TypeError, AttributeError):
                alg, value = cbor.loads(v)[:2]
                shown = f"{'sha-256' if alg == -16 else alg}:{value.hex()}"
        elif isinstance(v, bytes):
            shown = "h'" + v.hex() + "'"
        parts.append(f"{name}={shown}")
    return ", ".join(parts)


def _section_name(section: int) -> str:
    from iotsec.core.suit.registry import ManifestKey, label_name

    return ("common" if section == 3 else label_name(ManifestKey, section)) + f"({section})"


def _where(rec: SuitRecord) -> str:
    return (
        f"manifest {list(rec.manifest_id)} section {_section_name(rec.section)} offset {rec.offset} "
        f"component {rec.component}"
    )


def render(report: SuitReport) -> list[str]:
    """Readable lines for a report (``iotsec suit report show``), names from the registries."""
    d = report.manifest_digest
    alg = "sha-256" if d.alg == -16 else str(d.alg)
    lines = [f"suit-reference: {report.reference_uri or '(no URI)'} {alg}:{d.value.hex()}"]
    if report.nonce is not None:
        lines.append(f"suit-report-nonce: h'{report.nonce.hex()}'")
    lines.append(f"records: {len(report.records)}")
    for n, r in enumerate(report.records):
        if isinstance(r, SuitRecord):
            props = _param_text(r.properties)
            lines.append(f"  [{n}] {_where(r)}" + (f": {props}" if props else ""))
        else:
            cid = r.get(SYSTEM_COMPONENT_ID)
            rest = {k: v for k, v in r.items() if k != SYSTEM_COMPONENT_ID}
            name = "[" + ", ".join(f"h'{s.hex()}'" for s in cid) + "]" if isinstance(cid, list) else "?"
            lines.append(f"  [{n}] system properties of {name}: {_param_text(rest)}")
    if report.result is None:
        lines.append("result: ok")
    else:
        reason = Reason(report.result.reason).name.lower().replace("_", "-")
        lines.append(f"result: {reason} ({report.result.reason}), code {report.result.code}")
        lines.append(f"  at {_where(report.result.record)}")
        text = report.result.text
        if text:
            lines.append(f"reason: {text}")
    caps = report.capabilities
    if caps is not None:
        comps = [
            "[" + ", ".join([*(f"h'{s.hex()}'" for s in segs), *(["*"] if wild else [])]) + "]"
            for segs, wild in caps.components
        ]
        lines.append(f"capabilities: components {', '.join(comps)}")
        lines.append(f"  commands {list(caps.commands)}")
        lines.append(f"  parameters {list(caps.parameters)}")
        lines.append(f"  algorithms {list(caps.algorithms)}")
    return lines


__all__ = ["render"]
