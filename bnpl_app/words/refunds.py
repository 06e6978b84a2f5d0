"""Returns after paying early (refunds to the methods the money came from), the shopper's money
movements, and consent that belongs to the shopper (closing while suspended, reopening)."""

REFUNDS: dict[str, tuple[str, str]] = {
    # refusals
    "refund.already": ("账单 #{inst} 已退款，不能再次退款", "installment #{inst} was already refunded; it cannot be refunded again"),
    "refund.not_paid": ("账单 #{inst} 未付款，无款可退", "installment #{inst} was not paid; there is nothing to refund"),
    "order.returned_before": ("该订单已申请过退货，不能再次退货", "this order has already been returned once; it cannot be returned again"),
    "consent.restore_first": ("额度因暂停已降为 ¥0.00，需先申请恢复额度，才能重新开通先用后付",
                              "your limit was cut to ¥0.00 by a suspension: apply for restoration before turning 先用后付 back on"),
    "consent.restore_first.hint": ("还清欠款后可在信用页申请恢复额度", "pay off what is owed, then apply for restoration on the credit page"),
    "mer.accepted_refunded": ("已验收通过，已退款 {amount} 给买家（原路退回）", "Accepted — {amount} refunded to the shopper, to the methods it was paid with"),
    # credit history reasons
    "cr.reopened": ("重新开通先用后付（已再次同意服务条款）", "先用后付 turned on again (terms accepted again)"),
    "cr.closed": ("关闭先用后付", "先用后付 turned off"),
    "cr.reward_back": ("订单 #{order} 已退货退款，按时奖励收回", "order #{order} returned and refunded: its on-time reward taken back"),
    # notices
    "n.refund.title": ("退款成功", "Refund made"),
    "n.refund.body": ("“{product}”退货验收通过，已退款 {amount} 至 {method}。",
                      "Your return of “{product}” was accepted: {amount} refunded to {method}."),
    # the credit-hold timeline
    "step.refunded": ("已退款", "Refunded"),
    # money movements on the wallet page
    "wallet.movements": ("资金流水", "Money movements"),
    "wallet.movements_note": ("最近的入账与扣款，按时间倒序。", "Latest money in and out, newest first."),
    "wallet.no_movements": ("暂无资金流水", "No money movements yet"),
    "move.topup": ("充值", "Top-up"),
    "move.capture": ("扣款", "Payment"),
    "move.refund": ("退款", "Refund"),
    "move.other": ("其他", "Other"),
    "move.when": ("时间", "Time"),
    "move.kind": ("类型", "Kind"),
    "move.method": ("支付方式", "Method"),
    "move.amount": ("金额", "Amount"),
    # the credit page's consent section
    "credit.suspended_close_note": ("暂停期间也可以关闭先用后付；关闭不会恢复额度，重新开通前需先申请恢复额度。",
                                    "You may turn 先用后付 off while suspended; turning it off lifts nothing: before turning it back on, apply for restoration."),
    "credit.restore_first_note": ("额度因暂停已降为 ¥0.00：请先在下方申请恢复额度，通过后才能重新开通先用后付。",
                                  "Your limit was cut to ¥0.00 by a suspension: apply for restoration below; once it is approved you can turn 先用后付 back on."),
    "credit.terms_again": ("重新开通需再次阅读并同意当前服务条款。", "Turning it back on needs the current terms read and accepted again."),
}
