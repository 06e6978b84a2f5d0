"""The UI's own words, 简体中文 first and English second. Screens call ``components.t(key)``;
server-built text (refusals, notices) comes from ``domain/messages.py`` in the reader's language.
Each area keeps its words in its own dict below; ``UI`` merges them."""

from __future__ import annotations

COMMON: dict[str, tuple[str, str]] = {
    "app.name": ("先用后付", "Use first, pay later"),
    "nav.catalog": ("商品", "Shop"),
    "nav.cart": ("购物车", "Cart"),
    "nav.orders": ("订单", "Orders"),
    "nav.bills": ("账单", "Bills"),
    "nav.credit": ("信用", "Credit"),
    "nav.wallet": ("钱包", "Wallet"),
    "nav.inbox": ("消息", "Inbox"),
    "nav.help": ("帮助", "Help"),
    "nav.merchant": ("商品管理", "Products"),
    "nav.merchant_orders": ("订单", "Orders"),
    "nav.merchant_returns": ("退货", "Returns"),
    "nav.settlement": ("结算", "Settlement"),
    "nav.analytics": ("数据", "Analytics"),
    "nav.ops": ("审核", "Reviews"),
    "nav.ops_shoppers": ("用户查询", "Shoppers"),
    "nav.ops_risk": ("风险", "Risk"),
    "nav.ops_audit": ("审计", "Audit"),
    "auth.login": ("登录", "Log in"),
    "auth.logout": ("退出", "Log out"),
    "auth.register": ("注册", "Sign up"),
    "auth.username": ("用户名", "Username"),
    "auth.password": ("密码", "Password"),
    "auth.display_name": ("昵称", "Display name"),
    "auth.no_account": ("还没有账号？", "No account yet?"),
    "auth.have_account": ("已有账号？", "Already have an account?"),
    "auth.demo_accounts": ("演示账号一键登录", "Demo accounts: log in as"),
    "auth.demo_hint": ("演示模式：所有演示账号密码均为 demo1234", "Demo mode: every demo account's password is demo1234"),
    "auth.login_required": ("请先登录", "Please log in first"),
    "auth.welcome": ("欢迎，", "Welcome, "),
    "clock.label": ("模拟时间", "Simulated time"),
    "clock.next": ("下一事件", "Next event"),
    "clock.moved": ("时间已前进，到期任务已执行", "Time moved on; everything due has run"),
    "clock.nothing": ("没有待发生的事件", "Nothing is scheduled"),
    "common.save": ("保存", "Save"),
    "common.cancel": ("取消", "Cancel"),
    "common.submit": ("提交", "Submit"),
    "common.back": ("返回", "Back"),
    "common.loading": ("加载中…", "Loading…"),
    "common.none": ("暂无", "Nothing here yet"),
    "common.not_found": ("找不到该页面或记录", "Not found"),
    "common.yes": ("是", "Yes"),
    "common.no": ("否", "No"),
    "common.view": ("查看", "View"),
    "common.time": ("时间", "Time"),
    "common.amount": ("金额", "Amount"),
    "common.status": ("状态", "Status"),
    "lang.switch": ("English", "中文"),
}

STATUS: dict[str, tuple[str, str]] = {
    "status.TRIAL": ("试用中", "In trial"),
    "status.RETURN_IN_TRANSIT": ("退货寄回中", "Return in transit"),
    "status.RETURN_RECEIVED": ("商家验货中", "Being inspected"),
    "status.RETURN_REJECTED": ("退货被拒·试用继续", "Return rejected · trial continues"),
    "status.RETURNED": ("已退货", "Returned"),
    "status.DUE": ("待还款", "Due"),
    "status.OVERDUE": ("已逾期", "Overdue"),
    "status.PAID": ("已付清", "Paid"),
    "status.PENDING": ("试用期结束后扣款", "Due at trial end"),
    "status.SCHEDULED": ("待扣款", "Scheduled"),
    "status.CANCELLED": ("已取消", "Cancelled"),
    "status.REPLACED": ("已被协商计划替代", "Replaced by hardship plan"),
    "status.APPROVED": ("已通过", "Approved"),
    "status.REJECTED": ("未通过", "Rejected"),
    "status.active": ("已开通", "On"),
    "status.suspended": ("已暂停", "Suspended"),
    "status.closed": ("已关闭", "Off"),
    "status.not_opened": ("未开通", "Not opened"),
    "status.IN_TRANSIT": ("寄回中", "In transit"),
    "status.RECEIVED": ("已签收待验货", "Received, awaiting inspection"),
    "status.ACCEPTED": ("验收通过", "Accepted"),
    "plan.full": ("试用结束一次付清", "Pay in full at trial end"),
    "plan.3": ("分 3 期", "3 installments"),
    "plan.6": ("分 6 期", "6 installments"),
    "plan.12": ("分 12 期", "12 installments"),
    "step.frozen": ("下单冻结额度", "Limit frozen at checkout"),
    "step.return_shipped": ("退货已寄出", "Return shipped"),
    "step.received": ("商家已签收", "Received by merchant"),
    "step.inspected": ("验货完成", "Inspected"),
    "step.released": ("额度已释放", "Limit released"),
    "step.return_rejected": ("退货被拒收", "Return rejected"),
    "step.captured": ("冻结转为待还款", "Hold captured"),
    "step.paid": ("已付清", "Paid in full"),
    "step.restructured": ("协商还款计划生效", "Hardship plan applied"),
    "note.intact": ("完好，验收通过", "intact, accepted"),
    "note.damaged": ("商品损坏，拒收", "damaged, rejected"),
    "note.auto_accepted": ("商家逾期未验货，自动验收通过", "not inspected in time: accepted automatically"),
    "note.paid early": ("试用期内提前付款", "paid during the trial"),
    "note.trial ended": ("试用期结束", "trial ended"),
}

UI: dict[str, tuple[str, str]] = {}


def register(words: dict[str, tuple[str, str]]) -> None:
    """Areas add their words at import time; a key defined twice is a bug."""
    dup = set(words) & set(UI)
    if dup:
        raise KeyError(f"UI keys defined twice: {sorted(dup)}")
    UI.update(words)


register(COMMON)
register(STATUS)


def text(key: str, lang: str) -> str:
    zh, en = UI.get(key, (key, key))
    return en if lang == "en" else zh
