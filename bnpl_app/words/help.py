"""The long prose: the help page, the terms a shopper accepts when opening 先用后付, the late-fee
rule on a product page, the fee rule of a plan. Every number is a placeholder filled from the
policy when the text is shown (``views.figures``), never written here.

A help or terms section is ``<section>.title`` with its paragraphs ``<section>.1``, ``.2``, …:
the screens show every paragraph the catalog has, in order."""

HELP: dict[str, tuple[str, str]] = {
    # the terms (also the first sections of the help page's rules)
    "terms.trial.title": ("试用", "Trial"),
    "terms.trial.1": (
        "下单 ¥0，先试用再付款。试用期由商家设定（{trial_days_min}–{trial_days_max} 天，通常 {trial_days_default} 天），"
        "确认订单前会显示准确的扣款时间和金额。",
        "Order for ¥0 and try the goods first. The trial lasts as long as the merchant sets "
        "({trial_days_min}–{trial_days_max} days, usually {trial_days_default}); the exact deduction time and amount "
        "are shown before you confirm."),
    "terms.trial.2": ("试用期内填写快递单号退货即不扣款；退货处理期间暂停扣款。",
                      "Return during the trial with a tracking number and nothing is charged; while a return is under way "
                      "the deduction is paused."),
    "terms.deduction.title": ("扣款", "Deduction"),
    "terms.deduction.1": (
        "试用结束时按您在账单页设定的支付方式顺序自动扣款；试用结束前 {reminder_days} 天会在消息中心提醒您。",
        "When the trial ends the amount due is taken automatically from your payment methods, in the order you choose "
        "on the bills page. Reminders reach your inbox {reminder_days} day(s) before."),
    "terms.deduction.2": ("余额不足时每天重试扣款。", "If no method has enough, it is retried every day."),
    "terms.fees.title": ("费用", "Fees"),
    "terms.fees.1": (
        "试用结束一次付清不收任何费用。分 3、6、12 期每期手续费为商品价格的 {installment_fee}，商家标注“免息”的不收手续费。"
        "提前还清可免除尚未开始各期的手续费。",
        "Paying in full at the end of the trial costs nothing extra. Installments (3, 6 or 12 months) cost "
        "{installment_fee} of the price per period, or nothing when the merchant marks them interest-free (免息). "
        "Repaying early waives the fees of periods that have not started."),
    "terms.late.title": ("逾期后果", "If you pay late"),
    "terms.late.1": ("到期后 {grace_days} 天为宽限期，期间还款无任何影响。",
                     "{grace_days} days of grace: pay within them and nothing happens."),
    "terms.late.2": (
        "宽限期过后：信用分 −{overdue_score_penalty}，额度减半；之后每天按逾期本金的 {late_fee_per_day} 收取滞纳金，"
        "累计不超过本金的 {late_fee_cap}。",
        "After the grace period: credit score −{overdue_score_penalty} and your limit is halved; then a late fee of "
        "{late_fee_per_day} of the overdue principal per day, at most {late_fee_cap} of it in total."),
    "terms.late.3": (
        "逾期满 {suspend_after_days} 天暂停先用后付（额度归零，不能下新单）；满 {bad_debt_after_days} 天记为呆账。"
        "还清后额度不会自动恢复，需要提交证明申请恢复。",
        "At {suspend_after_days} days overdue 先用后付 is suspended (limit ¥0, no new orders); at "
        "{bad_debt_after_days} days the debt is recorded as a bad debt. Paying off does not restore a cut or suspended "
        "limit by itself: you apply for restoration with proof."),
    # the help page around the terms
    "help.what.title": ("什么是先用后付？", "What is 先用后付?"),
    "help.what.1": (
        "先用后付：下单 ¥0，收到商品先试用，满意再付款（一次付清或分期）；不满意退货即可。它不会默认开通，"
        "需要您在信用页阅读条款后自己开通，也可以随时关闭（已下的订单按原条款完成）。",
        "Use first, pay later: you order for ¥0, try the goods, and pay only if you keep them — in full or in "
        "installments. It is never on by default: you turn it on yourself on the credit page after reading the terms, "
        "and you can turn it off there at any time (orders already made finish under their own terms)."),
    "help.what.2": ("您还可以自设一个低于授信额度的消费上限。",
                    "You may also set your own spending cap below the limit you were granted."),
    "help.who.title": ("谁可以使用", "Who can use it"),
    "help.who.1": (
        "需同时满足：已实名认证、已绑定手机号、至少绑定一种支付方式、信用分不低于 {platform_min_score}"
        "（且不低于商品自身要求）、已开通先用后付、可用额度足够、未超过店铺对单个用户的上限（通常 {shop_cap}）。"
        "商品页会逐条说明未满足的条件及解决办法。",
        "All of these: real-name verified, a phone number bound, at least one payment method, a credit score of at "
        "least {platform_min_score} (and at least the product's own minimum), 先用后付 turned on, enough available "
        "limit, and within the shop's cap per shopper (usually {shop_cap}). A product page names every rule you do "
        "not meet and what to do about it."),
    "help.who.2": (
        "信用分范围 {score_min}–{score_max}，初始额度由分数段决定（见下表）。任何时候：额度 = 可用 + 冻结（试用中订单）"
        "+ 待还（已出账订单）。",
        "Credit scores run from {score_min} to {score_max}. Your limit starts from your score band (table below). "
        "At every moment: limit = available + frozen (orders in trial) + owed (orders billed)."),
    "help.returns.title": ("退货", "Returns"),
    "help.returns.1": (
        "试用期内可退货：填写快递单号后暂停扣款。商家须在签收后 {inspection_days} 天内验货，逾期未验视为验收通过，"
        "冻结额度立即释放。",
        "Return while the order is in its trial: enter the tracking number and the deduction pauses. The merchant must "
        "inspect the parcel within {inspection_days} days of receiving it; if they do not, the return is accepted "
        "automatically and your limit is released."),
    "help.returns.2": (
        "若包裹损坏，商家须提供照片和原因，包裹退回给您，试用继续；退货期间的天数不计逾期。",
        "If the parcel arrives damaged the merchant must show photos and a reason; the parcel comes back to you and "
        "the trial continues. Days spent on the return never count as late."),
    "help.rewards.title": ("按时付款的奖励", "Paying on time"),
    "help.rewards.1": (
        "每笔订单按时付清信用分 +{on_time_score_bonus}；连续 {on_time_orders_for_step} 笔按时付清，额度提升一档"
        "（不超过所在分数段的上限）。",
        "Each order paid on time: credit score +{on_time_score_bonus}. After {on_time_orders_for_step} on-time orders "
        "in a row your limit rises one step (up to your score band's ceiling)."),
    "help.rewards.2": (
        "在账单页可设置优先扣款的支付方式、到期前 0–{autopay_days_before_max} 天提前扣款，并查看将于何时、从哪里扣多少钱。",
        "On the bills page you choose which payment method is tried first and whether to deduct "
        "0–{autopay_days_before_max} days before the due date, and see exactly what will be deducted, when and from "
        "where."),
    "help.back.title": ("恢复与协商", "Getting back on track"),
    "help.back.1": (
        "额度被降低或先用后付被暂停？还清逾期款项后，在信用页提交证明（还款凭证、银行流水）申请恢复，"
        "审核通过后最高恢复到原额度，未通过会告知原因。",
        "Limit cut or 先用后付 suspended? Pay off what is overdue, then apply for restoration on the credit page with "
        "proof (a repayment voucher or bank statement). An operator restores up to your previous limit or tells you "
        "why not."),
    "help.back.2": (
        "困难协商：有逾期满 {hardship_min_overdue_days} 天的款项时，可申请最多 {hardship_max_installments} 期的新还款计划，"
        "并申请减免滞纳金；通过后不再产生新费用，滞纳金停止计算。证明材料为图片或 PDF，最多 {upload_max_files} 个，"
        "每个不超过 {upload_max_mb} MB。",
        "Hardship: with an installment at least {hardship_min_overdue_days} days overdue you may apply for a new plan "
        "of up to {hardship_max_installments} monthly installments and ask for late fees to be waived. An approved plan "
        "adds no new fees and stops late fees. Proof files: images or PDF, at most {upload_max_files} files of "
        "{upload_max_mb} MB each."),
    # a product page
    "product.late_fee_text": (
        "逾期 {grace_days} 天内为宽限期，不收费；宽限期后信用分 −{overdue_score_penalty}、额度减半，"
        "并按逾期本金每日 {late_fee_per_day} 收取滞纳金，累计不超过本金的 {late_fee_cap}；"
        "逾期满 {suspend_after_days} 天暂停先用后付。",
        "Grace period {grace_days} days with no fee. After that: score −{overdue_score_penalty} and limit halved, "
        "then a late fee of {late_fee_per_day} of the overdue principal per day, at most {late_fee_cap} in total. "
        "At {suspend_after_days} days overdue 先用后付 is suspended."),
    "plan.fee_rule": ("每期手续费为本金的 {fee}", "Fee per period: {fee} of the principal"),
    "plan.fee_free": ("免息，无手续费", "Interest-free: no fees"),
}
