"""Words the IVR says about tickets, per language (statuses as citizens understand them)."""

STATUS = {
    "new": {"cmn": "已受理", "yue": "已受理", "en": "received"},
    "answered": {"cmn": "已当场答复", "yue": "已即場答覆", "en": "answered"},
    "dispatched": {"cmn": "已转交承办部门", "yue": "已轉交承辦部門", "en": "passed to the department"},
    "accepted": {"cmn": "承办部门正在办理", "yue": "承辦部門處理緊", "en": "being handled by the department"},
    "returned": {"cmn": "正在重新分派", "yue": "重新分派緊", "en": "being reassigned"},
    "replied": {"cmn": "部门已答复", "yue": "部門已答覆", "en": "replied by the department"},
    "informed": {"cmn": "已告知结果", "yue": "已通知結果", "en": "outcome given to you"},
    "follow_up": {"cmn": "回访中", "yue": "回訪緊", "en": "in follow-up"},
    "closed": {"cmn": "已办结", "yue": "已辦結", "en": "closed"},
    "escalated": {"cmn": "已上报", "yue": "已上報", "en": "escalated"},
}
DUE = {"cmn": "办理期限{date}。", "yue": "辦理期限{date}。", "en": "Due by {date}."}


def status_text(status: str, language: str) -> str:
    return STATUS.get(status, {}).get(language) or STATUS.get(status, {}).get("cmn") or status


def due_text(due: str | None, language: str) -> str:
    return DUE.get(language, DUE["cmn"]).format(date=due) if due else ""
