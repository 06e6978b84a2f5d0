"""备用金: the cash-advance line's page, its quote and early repayment, the product page's "buy with
备用金", its refusals (each with what to do) and its help section. Numbers come from the policy
(``views.figures``) or from the terms being shown, never written here."""

CASH: dict[str, tuple[str, str]] = {
    # the page
    "nav.cash": ("备用金", "备用金 cash"),
    "title.cash": ("备用金", "备用金 cash line"),
    "cash.title": ("备用金", "备用金 — cash line"),
    "cash.intro": (
        "备用金是独立于先用后付额度的小额借款额度：可提现到绑定的银行卡，或直接用于本店普通（非先用后付）购物。"
        "按日计息，只对未还本金计息，可随时提前还款。",
        "备用金 is a small cash line separate from your 先用后付 limit: draw it to a bound bank card, or spend it "
        "directly on an ordinary (not 先用后付) purchase in our shop. Interest is charged by the day, only on the "
        "principal still owed, and you may repay early at any time."),
    "cash.apply_title": ("申请备用金", "Apply for 备用金"),
    "cash.apply_note": (
        "需已实名认证、绑定手机号和银行卡，信用分不低于 {cash_min_score}。额度按信用分段授予：{cash_bands}。",
        "You need real-name verification, a phone number, a bound bank card and a credit score of at least "
        "{cash_min_score}. The line follows your score band: {cash_bands}."),
    "cash.apply_grant": ("按您当前的信用分 {score}，可获得额度 {line}。", "At your score of {score} the line would be {line}."),
    "cash.apply": ("申请备用金", "Apply for 备用金"),
    "cash.applied": ("备用金已开通", "Your 备用金 line is open"),
    "cash.cannot_apply": ("暂时无法申请：", "You cannot apply yet:"),
    "cash.line": ("备用金额度", "Line"),
    "cash.available": ("可借", "Available"),
    "cash.outstanding": ("待还本金", "Principal owed"),
    "cash.rate": ("日利率", "Daily rate"),
    "cash.apr": ("年化利率", "APR"),
    "cash.identity": ("额度 = 可借 + 待还本金", "line = available + principal owed"),
    "cash.method_name": (
        "还款方式：等额本金——每月归还相同的本金，加上当月未还本金的利息（本金 × 日利率 × 当月天数，从借款当天起算，"
        "还款当天不计息）。",
        "Repayment: equal monthly principal (等额本金) — each month the same part of the principal plus that month's "
        "interest on the principal still owed (principal × daily rate × the days of the month, counted from the day "
        "of the draw, the day of repayment not counted)."),
    "cash.draw_title": ("借款", "Draw"),
    "cash.amount": ("借款金额（元）", "Amount (¥)"),
    "cash.amount_hint": ("{min} 起，最多可借 {available}", "from {min}, up to {available}"),
    "cash.term": ("期限", "Term"),
    "cash.term_n": ("{n} 个月", "{n} months"),
    "cash.to_card": ("到账银行卡", "Pay out to card"),
    "cash.show_quote": ("查看借款条款", "Show the terms"),
    "cash.quote_title": ("借款条款（确认即按此借款）", "The terms (confirming draws on exactly these)"),
    "cash.quote_amount": ("借款金额", "Amount"),
    "cash.total_interest": ("总利息（按期还款）", "Total interest (if repaid as scheduled)"),
    "cash.total_repay": ("还款总额", "Total to repay"),
    "cash.first_due": ("首期还款", "First repayment"),
    "cash.auto_note": (
        "每期到期日按您在账单页设定的支付方式顺序自动扣款，扣款前会提前通知。",
        "Each month's amount is deducted automatically on its due date from your payment methods, in the order set on "
        "the bills page; you are told before every deduction."),
    "cash.late_title": ("逾期规则", "If you pay late"),
    "cash.confirm": ("确认借款", "Confirm the draw"),
    "cash.drawn": ("借款成功，已打款到您的银行卡", "Drawn: the money is on your card"),
    "cash.quote_stale": ("金额或期限已修改，请重新查看条款", "The amount or term changed: show the terms again"),
    "cash.terms_changed": ("条款已变化，未借款。新条款如下，请确认：", "The terms changed and nothing was drawn. The new terms:"),
    "cash.draws": ("借款记录", "Draws"),
    "cash.no_draws": ("还没有借款", "No draws yet"),
    "cash.draw_row": ("{amount} · {term} 个月 · {date}", "{amount} · {term} months · {date}"),
    "cash.to_shop": ("用于购买：{product}", "Spent on: {product}"),
    "cash.paid_out": ("已打款至 {card}", "Paid out to {card}"),
    "cash.period": ("期", "Month"),
    "cash.due": ("还款日", "Due"),
    "cash.days": ("计息天数", "Days"),
    "cash.principal": ("本金", "Principal"),
    "cash.interest": ("利息", "Interest"),
    "cash.total": ("合计", "Total"),
    "cash.status": ("状态", "Status"),
    "cash.left": ("剩余本金 {left}", "{left} principal left"),
    "cash.closed": ("已还清", "Repaid"),
    # early repayment
    "cash.repay_title": ("提前还款", "Repay early"),
    "cash.repay_rule": (
        "提前还款按整期从最后一期往前冲抵（缩短期限），剩余各期本金不变；利息只计到还款当天，尚未开始的月份不再收取已还本金的利息。"
        "选择全部剩余本金即一次还清。",
        "Principal repaid early pays off whole months from the last one back (the term shortens); the months left keep "
        "their principal. Interest runs only to the day of repayment: months not started charge no interest on what "
        "you repaid. Choose all the principal left to repay the draw in full."),
    "cash.repay_amount": ("提前还款本金", "Principal to repay"),
    "cash.repay_quote": ("计算", "Calculate"),
    "cash.repay_now": ("本次支付", "You pay now"),
    "cash.repay_interest_now": ("其中利息（计至今天）", "of which interest (to today)"),
    "cash.repay_saving": ("节省利息", "Interest saved"),
    "cash.repay_method": ("支付方式", "Paid from"),
    "cash.repay_confirm": ("确认提前还款", "Confirm the early repayment"),
    "cash.repaid": ("提前还款成功，额度已恢复", "Repaid early: your line is available again"),
    "cash.repay_due_note": ("有已到期的款项时，请先在账单页还款。", "When a month is due, pay it on the bills page first."),
    # the product page
    "cash.buy": ("用备用金购买", "Buy with 备用金"),
    "cash.buy_title": ("用备用金购买（普通购买，非先用后付）", "Buy with 备用金 (an ordinary purchase, not 先用后付)"),
    "cash.buy_note": ("将从备用金借出商品价格直接付给商家，按下列条款分期还给平台。",
                      "The price is drawn from your 备用金 and paid to the shop at once; you repay it on these terms."),
    "cash.buy_confirm": ("确认用备用金购买", "Confirm: buy with 备用金"),
    "cash.bought": ("购买成功，已用备用金付款", "Bought: paid with 备用金"),
    "cash.buy_no_line": ("开通备用金后可直接用它购买", "Open a 备用金 line to buy with it"),
    "cash.cancel": ("取消", "Cancel"),
    # refusals and what to do
    "cash.has_line": ("您已开通备用金", "you already have a 备用金 line"),
    "cash.has_line.hint": ("在备用金页借款即可", "draw on it on the 备用金 page"),
    "cash.no_card": ("未绑定银行卡", "no bank card is bound"),
    "cash.no_card.hint": ("在钱包页绑定一张银行卡（借款会打到这张卡）", "bind a bank card on the wallet page (draws are paid to it)"),
    "cash.score": ("信用分 {score} < 备用金最低要求 {min}", "score {score} < the 备用金 minimum {min}"),
    "cash.score.hint": ("按时还款可提升信用分", "repaying on time raises your score"),
    "cash.rate_cap": ("年化利率 {apr} 超过上限 {cap}，不予放款", "an APR of {apr} is above the cap of {cap}: no loan is made"),
    "cash.rate_cap.hint": ("请联系客服", "please contact support"),
    "cash.past_grace": ("有款项已逾期 {days} 天（超过宽限期）", "a payment is {days} days overdue (past its grace period)"),
    "cash.past_grace.hint": ("先在账单页还清逾期款项", "pay what is overdue on the bills page first"),
    "cash.suspended": ("先用后付已因逾期暂停", "先用后付 is suspended for an overdue debt"),
    "cash.suspended.hint": ("还清欠款后在信用页申请恢复", "pay off what is owed, then apply for restoration on the credit page"),
    "cash.bad_debt": ("有呆账记录", "there is a bad debt on record"),
    "cash.bad_debt.hint": ("可在信用页申请困难协商", "you may apply for a hardship plan on the credit page"),
    "cash.no_line": ("尚未开通备用金", "you have no 备用金 line"),
    "cash.no_line.hint": ("先在备用金页申请", "apply on the 备用金 page first"),
    "cash.below_min": ("借款金额 {amount} 低于最低 {min}", "the amount {amount} is below the minimum {min}"),
    "cash.below_min.hint": ("请输入不低于最低金额的数额", "enter at least the minimum"),
    "cash.above_available": ("借款金额 {amount} 超过可借额度 {available}", "the amount {amount} is above what is available, {available}"),
    "cash.above_available.hint": ("还款后额度会恢复", "repaying frees your line"),
    "cash.bad_term": ("期限只能是 {terms} 个月", "the term must be {terms} months"),
    "cash.bad_terms": ("借款条款无效，请刷新后重试", "invalid terms; reload and try again"),
    "cash.bad_key": ("借款请求无效，请刷新页面重试", "invalid draw request; reload the page and try again"),
    "cash.key_reused": ("该借款请求已用于其他金额或条款，请重新提交", "this draw request was used for other terms; start again"),
    "cash.card_only": ("借款只能打到银行卡", "a draw is paid to a bank card only"),
    "cash.line_race": ("额度刚刚被占用，当前可借额度不足", "your line just changed and is no longer enough"),
    "cash.changed.amount": ("金额由 {old} 变为 {new}", "the amount changed from {old} to {new}"),
    "cash.changed.rate": ("日利率由 {old} 变为 {new}", "the daily rate changed from {old} to {new}"),
    "cash.changed.interest": ("总利息由 {old} 变为 {new}（各月天数不同）", "the total interest changed from {old} to {new} (months of other lengths)"),
    "cash.on_plan": ("该借款已转为协商还款计划", "this draw is on a hardship plan"),
    "cash.on_plan.hint": ("请在账单页按计划还款", "repay it by the plan on the bills page"),
    "cash.due_first": ("有 {n} 期已到期未还（{owed}）", "{n} month(s) are due unpaid ({owed})"),
    "cash.due_first.hint": ("先在账单页还款", "pay them on the bills page first"),
    "cash.repay_above": ("还款本金 {amount} 超过剩余本金 {outstanding}", "{amount} is more than the principal left, {outstanding}"),
    "cash.repay_months": ("提前还款按整期从最后一期往前冲抵，{amount} 不是可选金额（可选：{amounts}）",
                          "early repayment takes whole months from the last one back: {amount} is not one of {amounts}"),
    "cash.repay_option": ("{amount}（最后 {n} 期）", "{amount} (the last {n} month(s))"),
    "cash.repay_option_all": ("{amount}（全部还清）", "{amount} (repay in full)"),
    "cash.repay_changed": ("应付金额已变为 {total}（节省 {saving}），请重新计算", "the amount is now {total} (saving {saving}); calculate again"),
    "cash.repay_race": ("账单刚刚发生变化，请刷新后重试", "the installments just changed; reload and try again"),
    "what.draw": ("借款", "draw"),
    "step.cash_drawn": ("备用金放款", "备用金 drawn"),
    "step.cash_early": ("提前还款", "Repaid early"),
    "note.cash": ("用备用金支付", "paid with 备用金"),
    # the help page
    "cash.help.title": ("备用金", "备用金 (cash line)"),
    "cash.help.1": (
        "备用金是独立于先用后付的借款额度。已实名认证、绑定手机号和银行卡、信用分不低于 {cash_min_score} 即可申请；"
        "额度按信用分段：{cash_bands}。任何时候：额度 = 可借 + 待还本金。",
        "备用金 is a cash line separate from 先用后付. Apply with real-name verification, a phone number, a bound bank "
        "card and a score of at least {cash_min_score}; the line follows your score band: {cash_bands}. At every "
        "moment: line = available + principal owed."),
    "cash.help.2": (
        "每笔借款 {cash_draw_min} 起，期限 {cash_terms} 个月，可打到银行卡，或在商品页“用备用金购买”直接付款（普通购买，非先用后付）。",
        "Draw from {cash_draw_min}, over {cash_terms} months — to a bank card, or spent directly with “Buy with 备用金” "
        "on a product page (an ordinary purchase, not 先用后付)."),
    "cash.help.3": (
        "日利率 {cash_daily_rate}（年化 {cash_apr}），年化利率不超过 {cash_apr_cap}。等额本金：每月归还相同本金加当月利息，"
        "利息 = 未还本金 × 日利率 × 天数，从借款当天起算。确认前会显示完整还款计划和总利息，确认即按此借款。",
        "A daily rate of {cash_daily_rate} (APR {cash_apr}), never above {cash_apr_cap} a year. Equal monthly principal: "
        "each month the same part of the principal plus that month's interest = principal owed × daily rate × days, "
        "from the day of the draw. The whole schedule and total interest are shown before you confirm, and the loan "
        "is made on exactly them."),
    "cash.help.4": (
        "随时可提前还全部或部分本金：利息只计到还款当天，确认前显示节省的利息。逾期规则与先用后付相同（宽限期 {grace_days} 天，"
        "之后信用分 −{overdue_score_penalty}、滞纳金每日 {late_fee_per_day}），有逾期未还时不能再借款。",
        "Repay all or part of the principal early at any time: interest only to that day, the saving shown before "
        "you confirm. Paying late works as for 先用后付 (a {grace_days}-day grace period, then score "
        "−{overdue_score_penalty} and a late fee of {late_fee_per_day} a day); while anything is overdue past its grace "
        "you cannot draw again."),
}
