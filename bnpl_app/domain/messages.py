"""Every message a person reads from the domain (refusals, hints, notifications), in 简体中文
and English. Keys are stable; services raise and notify by key with parameters, screens render
in the reader's language. The UI's own labels live in the UI catalog, not here."""

from __future__ import annotations

LANGS = ("zh", "en")

# key: (中文, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # generic
    "not_found": ("找不到该{what}", "{what} not found"),
    "what.record": ("记录", "record"),
    "what.application": ("申请", "application"),
    "what.credit account": ("信用账户", "credit account"),
    "what.installment": ("账单", "installment"),
    "what.notification": ("消息", "notification"),
    "what.order": ("订单", "order"),
    "what.payment method": ("支付方式", "payment method"),
    "what.product": ("商品", "product"),
    "what.return": ("退货单", "return"),
    "what.shop": ("店铺", "shop"),
    "what.shopper": ("用户", "shopper"),
    "what.wallet": ("钱包", "wallet"),
    "bad_amount": ("“{text}”不是有效金额，例如 12.50", "“{text}” is not an amount in yuan, e.g. 12.50"),
    "amount_not_positive": ("金额必须大于 ¥0.00", "the amount must be more than ¥0.00"),
    "amount_too_large": ("金额 {amount} 超过上限 {max}", "{amount} is more than the maximum {max}"),
    "bad_duration": ("“{text}”不是有效时长，例如 90m、36h、7d", "“{text}” is not a duration like 90m, 36h or 7d"),
    "duration_too_long": ("时长不能超过十年", "a duration of more than ten years is not allowed"),
    "clock_backwards": ("时钟只能向前拨", "the clock only moves forward"),
    "demo_only": ("仅演示模式可调整时钟", "the clock can only be moved in demo mode"),
    "bad_id": ("无效的编号", "invalid id"),
    "bad_text": ("{field} 长度应在 {min}–{max} 个字符之间", "{field} must be {min}–{max} characters"),
    "bad_choice": ("{field} 取值无效：{value}", "{field}: “{value}” is not a valid choice"),
    "busy_retry": ("系统繁忙，请稍后重试", "the system is busy, please try again"),
    # auth
    "auth.bad_credentials": ("用户名或密码错误", "wrong username or password"),
    "auth.session_expired": ("登录已过期，请重新登录", "your session has expired, please log in again"),
    "auth.role_required": ("无权执行此操作", "you are not allowed to do this"),
    "auth.username_taken": ("用户名已被占用", "that username is taken"),
    "auth.bad_username": ("用户名须为 3–30 位字母、数字或下划线", "username must be 3–30 letters, digits or _"),
    "auth.weak_password": ("密码至少 {min} 位", "password must have at least {min} characters"),
    "auth.bad_phone": ("手机号格式不正确（11 位，以 1 开头）", "phone must be 11 digits starting with 1"),
    "auth.bad_id_number": ("身份证号格式不正确", "the ID number is not valid"),
    # consent
    "consent.terms_required": ("开通前须阅读并同意服务条款", "you must read and accept the terms first"),
    "consent.already_open": ("先用后付已开通", "先用后付 is already on"),
    "consent.suspended": ("先用后付已被暂停，不能直接开通", "先用后付 is suspended and cannot simply be reopened"),
    "consent.suspended.hint": ("还清欠款后可在信用页申请恢复额度", "pay off what is owed, then apply for restoration on the credit page"),
    "consent.not_open": ("先用后付未开通", "先用后付 is not on"),
    "consent.score_too_low": ("信用分 {score} 低于平台最低要求 {min}，暂不能开通", "score {score} is below the platform minimum {min}, 先用后付 cannot be opened yet"),
    "consent.self_cap_range": ("自设额度须在 ¥0.00 到授信额度 {limit} 之间", "the self-set cap must be between ¥0.00 and your limit {limit}"),
    # eligibility (one per rule)
    "elig.real_name": ("未完成实名认证", "real-name verification is not done"),
    "elig.real_name.hint": ("在信用页完成实名认证", "verify your real name on the credit page"),
    "elig.phone": ("未绑定手机号", "no phone number is bound"),
    "elig.phone.hint": ("在信用页绑定手机号", "bind a phone number on the credit page"),
    "elig.payment_method": ("未绑定任何支付方式", "no payment method is bound"),
    "elig.payment_method.hint": ("在钱包页绑定银行卡或开通余额", "add a card or your wallet on the wallet page"),
    "elig.platform_score": ("信用分 {score} < 平台最低 {min}", "score {score} < platform minimum {min}"),
    "elig.platform_score.hint": ("按时还款、完善信息可提升信用分", "repay on time and complete your profile to raise your score"),
    "elig.product_score": ("信用分 {score} < 该商品要求 {min}", "score {score} < this product's minimum {min}"),
    "elig.product_score.hint": ("可选择其他支持先用后付的商品", "choose another product with 先用后付"),
    "elig.not_opened": ("尚未开通先用后付", "先用后付 is not opened yet"),
    "elig.not_opened.hint": ("在信用页阅读条款后开通", "open it on the credit page after reading the terms"),
    "elig.closed": ("您已关闭先用后付", "you have turned 先用后付 off"),
    "elig.closed.hint": ("可在信用页重新开通", "turn it back on from the credit page"),
    "elig.suspended": ("先用后付已暂停（逾期）", "先用后付 is suspended (overdue)"),
    "elig.suspended.hint": ("还清欠款后申请恢复额度", "pay off what is owed, then apply for restoration"),
    "elig.product_off": ("该商品未开通先用后付", "this product does not offer 先用后付"),
    "elig.product_off.hint": ("可直接购买，或选择带“先用后付”标识的商品", "buy it normally, or pick a product with the 先用后付 badge"),
    "elig.limit": ("可用额度 {available} 不足以支付 {price}", "available limit {available} is less than the price {price}"),
    "elig.limit.hint": ("还款或退货后额度会释放", "repaying or returning orders frees your limit"),
    "elig.shop_cap": ("在本店的先用后付金额将超过店铺上限 {cap}（已用 {used}）", "this shop's cap per shopper {cap} would be exceeded ({used} in use)"),
    "elig.shop_cap.hint": ("先完成本店已有订单的付款或退货", "pay or return your open orders at this shop first"),
    "elig.stock": ("库存不足", "out of stock"),
    "elig.stock.hint": ("可稍后再试，或选择其他商品", "try again later or choose another product"),
    "elig.plan": ("商家不支持该分期方案：{plan}", "the merchant does not offer the plan “{plan}”"),
    "elig.plan.hint": ("请选择商家提供的其他方案", "choose one of the plans the merchant offers"),
    "not_eligible": ("不符合先用后付条件", "not eligible for 先用后付"),
    # checkout
    "checkout.key_reused": ("该下单请求已用于其他商品或方案，请重新下单", "this checkout key was used for a different order; start again"),
    "checkout.bad_key": ("下单请求无效，请刷新页面重试", "invalid checkout request; reload the page and try again"),
    "checkout.limit_race": ("额度刚刚被占用，当前可用额度不足", "your available limit just changed and is no longer enough"),
    # orders
    "order.not_in_trial": ("订单不在试用期，不能{action}", "the order is not in its trial, it cannot be {action}"),
    "order.already_paid": ("订单已付款", "the order is already paid"),
    "order.bad_tracking": ("快递单号须为 6–30 位字母或数字", "tracking number must be 6–30 letters or digits"),
    "order.trial_over": ("试用期已结束，不能再退货", "the trial has ended; the order can no longer be returned"),
    "return.bad_state": ("退货单状态为 {status}，不能{action}", "the return is {status}; it cannot be {action}"),
    "return.photo_required": ("拒收必须上传至少一张照片", "rejecting needs at least one photo"),
    "return.reason_required": ("请填写拒收原因", "please give the reason for rejecting"),
    # uploads
    "upload.too_big": ("文件 {name} 超过 {max_mb} MB", "file {name} is larger than {max_mb} MB"),
    "upload.bad_type": ("文件 {name} 不是允许的类型（{allowed}）", "file {name} is not an allowed type ({allowed})"),
    "upload.empty": ("文件 {name} 为空", "file {name} is empty"),
    "upload.too_many": ("最多上传 {max} 个文件", "at most {max} files"),
    # bills
    "bill.not_open": ("该期账单无需还款（{status}）", "this installment has nothing to pay ({status})"),
    "bill.insufficient": ("{method} 余额 {balance} 不足以支付 {amount}", "{method} balance {balance} cannot cover {amount}"),
    "bill.insufficient.hint": ("请先充值或换一种支付方式", "top up first or use another method"),
    "bill.nothing_owed": ("没有待还款项", "nothing is owed"),
    "bill.amount_mismatch": ("应还金额已变为 {owed}，请刷新后重试", "the amount owed is now {owed}; refresh and try again"),
    "autopay.days_range": ("提前扣款天数须在 0–{max} 之间", "days before due must be between 0 and {max}"),
    "autopay.order": ("支付方式顺序无效", "invalid payment method order"),
    "wallet.no_wallet": ("未开通余额钱包", "you have no wallet"),
    # applications
    "app.not_needed": ("您的额度未被降低或暂停，无需申请恢复", "your limit was not cut or suspended; there is nothing to restore"),
    "app.still_owing": ("仍有逾期款项 {owed}，请先还清", "{owed} is still overdue; pay it off first"),
    "app.pending_exists": ("已有一份待审核的申请", "you already have an application under review"),
    "app.proof_required": ("请上传至少一份证明材料", "please upload at least one proof file"),
    "app.hardship_not_needed": ("没有逾期 {days} 天以上的款项，暂不能申请协商", "nothing is {days}+ days overdue; hardship negotiation is not open to you"),
    "app.installments_range": ("分期数须在 1–{max} 之间", "installments must be between 1 and {max}"),
    "app.already_decided": ("该申请已处理", "this application has already been decided"),
    "app.limit_range": ("恢复额度须在 ¥0.01 到此前额度 {max} 之间", "restored limit must be between ¥0.01 and the previous limit {max}"),
    "app.reason_required": ("请填写拒绝原因", "please give a reason for rejecting"),
    "app.waive_range": ("减免金额须在 ¥0.00 到滞纳金总额 {max} 之间", "the waiver must be between ¥0.00 and the late fees {max}"),
    # merchant
    "merchant.trial_days": ("试用天数须在 {min}–{max} 之间", "trial days must be between {min} and {max}"),
    "merchant.min_score": ("最低信用分须在 {min}–{max} 之间", "minimum score must be between {min} and {max}"),
    "merchant.plans": ("至少选择一种方案（full、3、6、12）", "choose at least one plan (full, 3, 6, 12)"),
    "merchant.stock": ("库存须为 0–100000 的整数", "stock must be a whole number 0–100000"),
    # notifications (title | body)
    "n.reminder.title": ("试用期即将结束", "Trial ending soon"),
    "n.reminder.body": ("“{product}”试用期还剩 {days} 天，{due} 将扣款 {amount}。如不满意可在此之前退货。", "{days} day(s) left to try “{product}”; {amount} will be deducted at {due}. Return it before then if you don't keep it."),
    "n.deducted.title": ("扣款成功", "Payment taken"),
    "n.deducted.body": ("“{product}”第 {seq}/{periods} 期已从{method}扣款 {amount}。", "{amount} for “{product}” (installment {seq}/{periods}) was taken from {method}."),
    "n.failed.title": ("扣款失败", "Payment failed"),
    "n.failed.body": ("“{product}”第 {seq}/{periods} 期 {amount} 扣款失败：所有支付方式余额不足。请在 {grace_end} 前充值还款以免产生滞纳金。", "{amount} for “{product}” (installment {seq}/{periods}) could not be taken: no payment method had enough. Top up and repay before {grace_end} to avoid late fees."),
    "n.late_fee.title": ("产生滞纳金", "Late fee charged"),
    "n.late_fee.body": ("“{product}”第 {seq}/{periods} 期已逾期 {days} 天，滞纳金累计 {total}。", "“{product}” installment {seq}/{periods} is {days} days overdue; late fees so far {total}."),
    "n.penalty.title": ("逾期影响信用", "Overdue: credit affected"),
    "n.penalty.body": ("宽限期已过仍未还款：信用分 −{points}，额度降至 {limit}。", "Grace period over and still unpaid: score −{points}, limit cut to {limit}."),
    "n.suspended.title": ("先用后付已暂停", "先用后付 suspended"),
    "n.suspended.body": ("逾期已达 {days} 天，先用后付已暂停。还清后可申请恢复。", "{days} days overdue: 先用后付 is suspended. Apply for restoration after paying off."),
    "n.bad_debt.title": ("已形成呆账", "Recorded as bad debt"),
    "n.bad_debt.body": ("逾期已达 {days} 天，已记为呆账。可申请协商还款。", "{days} days overdue: the debt is now a bad debt. You can apply for a hardship plan."),
    "n.return_received.title": ("退货已签收", "Return received"),
    "n.return_received.body": ("商家已收到“{product}”的退货，将在 {deadline} 前完成验货。", "The merchant received your return of “{product}” and will inspect it by {deadline}."),
    "n.return_accepted.title": ("退货成功", "Return accepted"),
    "n.return_accepted.body": ("“{product}”退货验收通过，冻结额度 {amount} 已释放。", "Your return of “{product}” was accepted; the frozen {amount} is released."),
    "n.return_rejected.title": ("退货被拒收", "Return rejected"),
    "n.return_rejected.body": ("“{product}”退货被拒收：{reason}。包裹将寄回，试用继续。", "Your return of “{product}” was rejected: {reason}. The parcel is sent back and the trial continues."),
    "n.paid.title": ("订单已结清", "Order paid off"),
    "n.paid.body": ("“{product}”已全部付清。", "“{product}” is fully paid."),
    "n.reward.title": ("按时付款奖励", "On-time reward"),
    "n.reward.body": ("按时付款，信用分 +{points}。", "Paid on time: score +{points}."),
    "n.reward_step.title": ("额度提升", "Limit raised"),
    "n.reward_step.body": ("连续按时付款，信用分 +{points}，额度提升至 {limit}。", "Paid on time again: score +{points}, and your limit rose to {limit}."),
    "n.app_approved.title": ("申请已通过", "Application approved"),
    "n.app_approved.body": ("您的{kind}申请已通过。{terms}", "Your {kind} application was approved. {terms}"),
    "n.app_rejected.title": ("申请未通过", "Application rejected"),
    "n.app_rejected.body": ("您的{kind}申请未通过：{reason}", "Your {kind} application was rejected: {reason}"),
    "n.restored_terms": ("额度已恢复至 {limit}，先用后付已恢复。", "Your limit is back to {limit} and 先用后付 is active again."),
    "n.hardship_terms": ("新还款计划：{n} 期，每月还款，已减免滞纳金 {waived}，不再产生新费用。", "New plan: {n} monthly installments, {waived} of late fees waived, no new fees."),
    # credit history reasons (credit_events.reason = key + JSON parameters)
    "cr.opened": ("开通先用后付", "先用后付 opened"),
    "cr.on_time": ("订单 #{order} 按时付清", "order #{order} paid on time"),
    "cr.step": ("连续 {n} 笔订单按时付清", "{n} on-time orders in a row"),
    "cr.grace": ("账单 #{inst} 宽限期后仍未还款", "installment #{inst} unpaid after the grace period"),
    "cr.suspended": ("逾期 {days} 天，暂停先用后付", "{days} days overdue: 先用后付 suspended"),
    "cr.restored": ("恢复额度申请 #{app} 已通过", "restoration application #{app} approved"),
    "kind.restoration": ("额度恢复", "limit restoration"),
    "kind.hardship": ("协商还款", "hardship plan"),
    "method.wallet": ("余额", "wallet"),
    "method.card": ("银行卡", "card"),
}


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_reason(stored: str, lang: str = "zh") -> str:
    """Render a stored ``key{json params}`` reason; text that is not a known key is shown as is."""
    import json

    key, _, rest = (stored or "").partition("{")
    if key not in MESSAGES:
        return stored
    try:
        params = json.loads("{" + rest) if rest else {}
    except ValueError:
        return stored
    return render(key, lang, **params)


def has(key: str) -> bool:
    return key in MESSAGES


def render(key: str, lang: str = "zh", /, **params: object) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format_map(_Default({k: v for k, v in params.items()}))
