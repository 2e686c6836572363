"""A journey's graph: the node kinds, their settings and branches, and the checks a graph
must pass before it can be published.

A graph is plain JSON, as the builder saves it:
    {"nodes": [{"id": "n1", "type": "trigger", "config": {...}, "x": 40, "y": 80}, ...],
     "edges": [{"from": "n1", "to": "n2", "branch": "next"}, ...]}
A node without an outgoing edge ends the path there; `goal` nodes stand apart (an event
that ends every run of the journey as converted, wherever it is)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.models import LifecycleStage
from leads.services.scoring_conditions import conditions_clean

NEXT = "next"

TRIGGERS = {
    "event": gettext_lazy("did an event"),
    "segment_entered": gettext_lazy("entered a segment"),
    "segment_exited": gettext_lazy("left a segment"),
    "stage_changed": gettext_lazy("lifecycle stage changed"),
    "date_property": gettext_lazy("a date (days since last order, birthday)"),
    "survey_answered": gettext_lazy("answered a survey"),
    "manual": gettext_lazy("added by hand or through the API"),
}


class GraphError(ValueError):
    pass


def _int(
    config: dict[str, Any], key: str, low: int, high: int, *, default: int | None = None
) -> int:
    value = config.get(key, default)
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise GraphError(_("“%(key)s” must be a whole number.") % {"key": key}) from None
    if not low <= number <= high:
        raise GraphError(
            _("“%(key)s” must be from %(low)s to %(high)s.")
            % {"key": key, "low": low, "high": high}
        )
    return number


def _chosen(config: dict[str, Any], key: str, what: str) -> int:
    """The id of something picked from a list (a template, a segment, a survey)."""
    value = config.get(key)
    if value in (None, ""):
        raise GraphError(_("Choose %(what)s.") % {"what": what})
    return _int(config, key, 1, 2**31)


def _text(config: dict[str, Any], key: str, what: str) -> str:
    value = str(config.get(key) or "").strip()
    if not value:
        raise GraphError(_("Say %(what)s.") % {"what": what})
    return value


def _trigger(config: dict[str, Any]) -> dict[str, Any]:
    kind = config.get("kind")
    if kind not in TRIGGERS:
        raise GraphError(_("Choose what starts the journey."))
    clean: dict[str, Any] = {"kind": kind}
    if kind == "event":
        clean["event"] = _text(config, "event", _("which event starts it"))
        clean["conditions"] = conditions_clean(config.get("conditions") or [], kind="behaviour")
    elif kind in ("segment_entered", "segment_exited"):
        clean["segment"] = _chosen(config, "segment", _("the segment"))
    elif kind == "stage_changed":
        stage = config.get("stage")
        if stage not in LifecycleStage.values:
            raise GraphError(_("Choose the stage that starts it."))
        clean["stage"] = stage
    elif kind == "date_property":
        if config.get("property") not in ("days_since_last_order", "birthday"):
            raise GraphError(_("Choose the date: days since last order, or birthday."))
        clean["property"] = config["property"]
        clean["days"] = _int(config, "days", 0, 3650, default=0)
    elif kind == "survey_answered":
        clean["survey"] = _chosen(config, "survey", _("the survey"))
    return clean


def _wait(config: dict[str, Any]) -> dict[str, Any]:
    clean = {k: _int(config, k, 0, 10_000, default=0) for k in ("days", "hours", "minutes")}
    if not any(clean.values()):
        raise GraphError(_("Say how long to wait."))
    return clean


def _wait_until(config: dict[str, Any]) -> dict[str, Any]:
    at = str(config.get("time") or "")
    try:
        hour, minute = (int(part) for part in at.split(":"))
        assert 0 <= hour < 24 and 0 <= minute < 60
    except (ValueError, AssertionError):
        raise GraphError(_("Give the time of day as HH:MM, e.g. 09:30.")) from None
    weekdays = config.get("weekdays") or list(range(7))
    if not isinstance(weekdays, list) or not weekdays or any(d not in range(7) for d in weekdays):
        raise GraphError(_("Choose at least one weekday."))
    return {"time": f"{hour:02d}:{minute:02d}", "weekdays": sorted(set(weekdays))}


def _wait_event(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": _text(config, "event", _("which event to wait for")),
        "hours": _int(config, "hours", 1, 24 * 365, default=24),
    }


CONDITION_KINDS = ("property", "event", "segment", "consent", "stage")


def _condition(config: dict[str, Any]) -> dict[str, Any]:
    kind = config.get("kind")
    if kind not in CONDITION_KINDS:
        raise GraphError(_("Choose what the condition checks."))
    clean: dict[str, Any] = {"kind": kind}
    if kind == "property":
        clean["conditions"] = conditions_clean(config.get("conditions") or [], kind="fit")
        if not clean["conditions"]:
            raise GraphError(_("Add at least one condition on the contact."))
    elif kind == "event":
        clean["event"] = _text(config, "event", _("which event"))
        clean["days"] = _int(config, "days", 1, 3650, default=30)
        clean["count"] = _int(config, "count", 1, 10_000, default=1)
    elif kind == "segment":
        clean["segment"] = _chosen(config, "segment", _("the segment"))
    elif kind == "consent":
        if config.get("channel") not in ("email", "sms"):
            raise GraphError(_("Choose the channel whose consent is checked."))
        clean["channel"] = config["channel"]
    elif kind == "stage":
        stages = config.get("stages") or []
        if not stages or any(s not in LifecycleStage.values for s in stages):
            raise GraphError(_("Choose one or more lifecycle stages."))
        clean["stages"] = stages
    return clean


def _split(config: dict[str, Any]) -> dict[str, Any]:
    branches = config.get("branches") or []
    clean: list[dict[str, Any]] = []
    for n, branch in enumerate(branches):
        key = str(branch.get("key") or chr(ord("a") + n))
        clean.append({"key": key, "percent": _int(branch, "percent", 1, 100)})
    percents: list[int] = [b["percent"] for b in clean]
    if len(clean) < 2:
        raise GraphError(_("A split needs at least two paths."))
    if sum(percents) != 100:
        raise GraphError(_("The percentages must add up to 100."))
    if len({b["key"] for b in clean}) != len(clean):
        raise GraphError(_("Each path of a split needs its own name."))
    return {"branches": clean}


def _send(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "template": _chosen(config, "template", _("a message template")),
        "best_time": bool(config.get("best_time")),
    }


def _update_property(config: dict[str, Any]) -> dict[str, Any]:
    name = _text(config, "property", _("which property to set"))
    if not name.replace("_", "").isalnum():
        raise GraphError(_("A property name has letters, digits and underscores only."))
    return {"property": name, "value": config.get("value", ""), "tag": bool(config.get("tag"))}


def _stage(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("stage") not in LifecycleStage.values:
        raise GraphError(_("Choose the stage to move the contact to."))
    return {"stage": config["stage"]}


def _list(config: dict[str, Any]) -> dict[str, Any]:
    return {"segment": _chosen(config, "segment", _("the list"))}


def _task(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": _text(config, "title", _("what the task asks")),
        "body": str(config.get("body") or ""),
        "role": str(config.get("role") or ""),
    }


def _webhook(config: dict[str, Any]) -> dict[str, Any]:
    url = _text(config, "url", _("the address to call"))
    if not url.startswith("https://"):
        raise GraphError(_("Webhooks go to https:// addresses only."))
    return {"url": url}


def _survey(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "survey": _chosen(config, "survey", _("the survey")),
        "template": _chosen(config, "template", _("the message that carries the survey link")),
    }


def _code(config: dict[str, Any]) -> dict[str, Any]:
    return {"campaign": _chosen(config, "campaign", _("the discount campaign"))}


def _goal(config: dict[str, Any]) -> dict[str, Any]:
    return {"event": _text(config, "event", _("which event counts as reaching the goal"))}


def _nothing(config: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Kind:
    label: Any
    clean: Callable[[dict[str, Any]], dict[str, Any]]
    branches: tuple[str, ...] = (NEXT,)  # empty: a path ends here
    group: str = "action"
    dynamic_branches: bool = False  # a split's branches are its config's keys


KINDS: dict[str, Kind] = {
    "trigger": Kind(gettext_lazy("Trigger"), _trigger, group="trigger"),
    "wait": Kind(gettext_lazy("Wait"), _wait, group="flow"),
    "wait_until": Kind(gettext_lazy("Wait until a time"), _wait_until, group="flow"),
    "wait_event": Kind(
        gettext_lazy("Wait for an event"), _wait_event, ("event", "timeout"), group="flow"
    ),
    "condition": Kind(gettext_lazy("Condition"), _condition, ("yes", "no"), group="flow"),
    "split": Kind(gettext_lazy("Random split"), _split, (), group="flow", dynamic_branches=True),
    "send_email": Kind(gettext_lazy("Send an e-mail"), _send),
    "send_sms": Kind(gettext_lazy("Send an SMS"), _send),
    "create_task": Kind(gettext_lazy("Create a team task"), _task),
    "update_property": Kind(gettext_lazy("Set a property or tag"), _update_property),
    "change_stage": Kind(gettext_lazy("Change lifecycle stage"), _stage),
    "list_add": Kind(gettext_lazy("Add to a list"), _list),
    "list_remove": Kind(gettext_lazy("Remove from a list"), _list),
    "webhook": Kind(gettext_lazy("Call a webhook"), _webhook),
    "send_survey": Kind(gettext_lazy("Send a survey"), _survey),
    "issue_code": Kind(gettext_lazy("Issue a discount code"), _code),
    "goal": Kind(gettext_lazy("Goal"), _goal, (), group="goal"),
    "exit": Kind(gettext_lazy("Exit"), _nothing, (), group="flow"),
}


@dataclass
class Problem:
    message: str
    node: str = ""  # the node it is about, for the builder to highlight


@dataclass
class Graph:
    """A checked graph: nodes by id with clean config, successors by (node, branch)."""

    nodes: dict[str, dict[str, Any]]
    edges: dict[tuple[str, str], str]
    trigger: str
    goals: list[str] = field(default_factory=list)

    def node(self, node_id: str) -> dict[str, Any]:
        return self.nodes[node_id]

    def next(self, node_id: str, branch: str = NEXT) -> str | None:
        return self.edges.get((node_id, branch))

    def branches(self, node_id: str) -> tuple[str, ...]:
        node = self.nodes[node_id]
        kind = KINDS[node["type"]]
        if kind.dynamic_branches:
            return tuple(b["key"] for b in node["config"].get("branches", []))
        return kind.branches


def graph_check(raw: Any) -> tuple[Graph | None, list[Problem]]:
    """Check a graph as the builder saved it. The Graph is None when a problem stops
    publishing (every problem is listed, each with its node)."""
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        return None, [Problem(_("The journey has no graph yet."))]
    nodes: dict[str, dict[str, Any]] = {}
    for node in raw.get("nodes") or []:
        node_id, kind = str(node.get("id") or ""), node.get("type")
        if not node_id or node_id in nodes:
            problems.append(Problem(_("Every node needs its own id."), node_id))
            continue
        if kind not in KINDS:
            problems.append(Problem(_("Unknown kind of node: %(kind)s.") % {"kind": kind}, node_id))
            continue
        try:
            config = KINDS[kind].clean(dict(node.get("config") or {}))
        except GraphError as error:
            problems.append(Problem(str(error), node_id))
            config = {}
        except Exception as error:  # conditions_clean raises ValidationError
            problems.append(Problem("; ".join(getattr(error, "messages", [str(error)])), node_id))
            config = {}
        nodes[node_id] = {"id": node_id, "type": kind, "config": config}
    triggers = [n for n, node in nodes.items() if node["type"] == "trigger"]
    if len(triggers) != 1:
        problems.append(Problem(_("A journey needs exactly one trigger.")))
    edges: dict[tuple[str, str], str] = {}
    graph = Graph(nodes, edges, triggers[0] if triggers else "")
    for edge in raw.get("edges") or []:
        source, target = str(edge.get("from") or ""), str(edge.get("to") or "")
        branch = str(edge.get("branch") or NEXT)
        if source not in nodes or target not in nodes:
            problems.append(Problem(_("A connection points at a node that is not there."), source))
            continue
        if nodes[target]["type"] in ("trigger", "goal"):
            problems.append(Problem(_("Nothing can lead into a trigger or a goal."), target))
            continue
        allowed = graph.branches(source)
        if branch not in allowed:
            if KINDS[nodes[source]["type"]].dynamic_branches and not nodes[source]["config"]:
                continue  # the split's own settings are wrong: that problem is listed already
            problems.append(
                Problem(_("This node has no “%(branch)s” path.") % {"branch": branch}, source)
            )
            continue
        if (source, branch) in edges:
            problems.append(Problem(_("A path leaves this node twice."), source))
            continue
        edges[(source, branch)] = target
    graph.goals = [n for n, node in nodes.items() if node["type"] == "goal"]
    if graph.trigger:
        problems.extend(_reachability(graph))
    for node_id, node in nodes.items():
        if node["type"] in ("condition", "wait_event", "split") and node["config"]:
            missing = [b for b in graph.branches(node_id) if (node_id, b) not in edges]
            if len(missing) == len(graph.branches(node_id)):
                problems.append(Problem(_("No path leaves this node."), node_id))
    return (None if problems else graph), problems


def _reachability(graph: Graph) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    stack = [graph.trigger]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(t for (s, _b), t in graph.edges.items() if s == node)
    for node_id, item in graph.nodes.items():
        if node_id not in seen and item["type"] != "goal":
            problems.append(Problem(_("This node is not connected to the trigger."), node_id))
    if _has_cycle(graph):
        problems.append(
            Problem(_("The paths go round in a loop: contacts would never leave the journey."))
        )
    return problems


def _has_cycle(graph: Graph) -> bool:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str) -> bool:
        state[node] = 1
        for (source, _b), target in graph.edges.items():
            if source != node:
                continue
            if state.get(target) == 1 or (state.get(target) is None and visit(target)):
                return True
        state[node] = 2
        return False

    return any(state.get(n) is None and visit(n) for n in graph.nodes)


def graph_load(raw: dict[str, Any]) -> Graph:
    """A published version's graph (checked when it was published)."""
    graph, problems = graph_check(raw)
    if graph is None:
        raise GraphError("; ".join(p.message for p in problems))
    return graph
