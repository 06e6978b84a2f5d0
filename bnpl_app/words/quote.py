"""The quote a shopper confirms (issue #14): what changed since it was shown, the deduction time
relative to confirming, the late-fee rule of the terms, a cart that ordered only some lines."""

QUOTE: dict[str, tuple[str, str]] = {
    # refusals
    "checkout.terms_changed": ("条款刚刚有变，本次未下单", "The terms changed just now, so nothing was ordered"),
    "checkout.terms_changed.hint": ("请查看新条款后再次确认", "check the new terms and confirm again"),
    "checkout.terms_changed.with": ("{message}：{changes}。{hint}", "{message}: {changes}. {hint}"),
    "checkout.bad_terms": ("下单条款无效，请刷新页面重试", "invalid terms; reload the page and try again"),
    # what changed
    "quote.sep": ("；", "; "),
    "quote.changed.price": ("价格由 {old} 变为 {new}", "the price changed from {old} to {new}"),
    "quote.changed.trial_days": ("试用期由 {old} 天变为 {new} 天", "the trial changed from {old} to {new} days"),
    "quote.changed.interest_free_on": ("现已免息", "it is now interest-free"),
    "quote.changed.interest_free_off": ("不再免息", "it is no longer interest-free"),
    "quote.changed.fee": ("每期手续费由本金的 {old} 变为 {new}", "the fee per period changed from {old} to {new} of the principal"),
    "quote.changed.late_fee": ("逾期规则有变：宽限 {grace} 天，之后按逾期本金每日 {rate}，累计不超过 {cap}",
                               "the late-fee rule changed: {grace} days' grace, then {rate} of the overdue principal per day, at most {cap}"),
    "quote.changed.schedule": ("分期金额有变", "the installment amounts changed"),
    "quote.changed.plan_gone": ("商家已不再提供您选择的付款方案", "the merchant no longer offers the payment plan you chose"),
    "quote.changed.bnpl_off": ("商家已关闭该商品的先用后付", "the merchant turned 先用后付 off for this product"),
    "quote.changed.bnpl_on": ("该商品现已支持先用后付", "this product now offers 先用后付"),
    # the screens
    "quote.changed_title": ("条款已更新", "The terms have changed"),
    "quote.changed_note": ("下方已是新条款，确认即按新条款下单。", "The new terms are shown below; confirming orders on them."),
    "quote.deduct_after": ("确认后 {days} 天", "{days} days after you confirm"),
    "quote.deduct_note": ("扣款时间从您确认下单的那一刻起算。", "The deduction time counts from the moment you confirm."),
    "quote.price": ("价格", "Price"),
    "quote.plan": ("付款方案", "Plan"),
    "quote.fees": ("手续费合计", "Total fees"),
    "quote.no_method": ("尚未绑定付款方式", "no payment method bound"),
    "quote.not_placed": ("未能下单", "Not ordered"),
    "cart.placed_some": ("已下单 {n} 件；未能下单的商品仍在购物车中，原因见下方",
                         "{n} ordered; the lines that could not be ordered stay in your cart, with the reason"),
}
