"""Words of the engine running every kind of contract (先用后付, 备用金, rent, repair charges): the
kind labels on bills and the operator's screens, the refusals, the audit's new checks and the
operator's 备用金 and rental exposure."""

ENGINE = {
    # what a bill is for, by the order's kind
    "engine.kind.bnpl": ("先用后付", "Use first, pay later"),
    "engine.kind.cash": ("备用金", "Cash advance"),
    "engine.kind.rent": ("租金", "Rent"),
    "engine.kind.charge": ("维修费", "Repair charge"),
    "engine.kind.buy": ("购买", "Purchase"),
    # refusals
    "engine.refund.not_refundable": ("备用金的还款不能退回", "a 备用金 repayment is not refunded"),
    "engine.early.elsewhere": ("请在备用金页面提前还款（按天计息）",
                               "repay a 备用金 draw early on the 备用金 page (interest by the day)"),
    "engine.early.not_rent": ("租金按月支付，不能一次提前还清；如需提前结束，请买断或归还设备",
                              "rent is paid monthly, not repaid early; to end early, buy the device out or return it"),
    # the audit's checks
    "ops.audit.cash_lines": ("备用金额度 = 可用 + 待还本金，且与账本和借款一致",
                             "备用金 line = available + outstanding, matching the journal and the draws"),
    "ops.audit.cash_interest": ("备用金利息从不超过年化上限", "备用金 interest never above the annual-rate (APR) cap"),
    "ops.audit.rental_freezes": ("每笔租机押金冻结至多处理一次，押金账户与租约一致",
                                 "Every rental freeze resolved at most once; deposits match the rentals"),
    # the operator's risk overview and shopper look-up
    "ops.risk.cash": ("备用金敞口", "备用金 exposure"),
    "ops.risk.cash_lines": ("已授信额度", "Lines granted"),
    "ops.risk.cash_outstanding": ("待还本金", "Outstanding principal"),
    "ops.risk.cash_overdue": ("逾期应还", "Overdue"),
    "ops.risk.cash_count": ("额度数", "Lines"),
    "ops.risk.rental": ("租机敞口", "Rental exposure"),
    "ops.risk.rental_active": ("在租设备", "Active rentals"),
    "ops.risk.rental_held": ("押金冻结中", "Deposit freezes held"),
    "ops.risk.rental_overdue": ("逾期租金", "Overdue rent"),
    "ops.shopper.cash_none": ("未开通备用金", "No 备用金 line"),
    "ops.shopper.rental_none": ("没有租机", "No rentals"),
}
