"""Interest that keeps running on an overdue 备用金 month's unpaid principal: the sentence a notice
adds when it may still rise by it (``rules.notice_text``), the row of the bills and 备用金 pages,
the quote's rule."""

INTEREST: dict[str, tuple[str, str]] = {
    "interest.n.tail": ("逾期期间利息按日利率 {interest_rate} 对未还本金继续计算，直至还清。",
                        " Interest keeps running at {interest_rate}/day on the unpaid principal until it is paid."),
    "interest.overdue": ("逾期利息", "Overdue interest"),
    "interest.rule": ("逾期后，未还本金自到期日起按日利率 {rate} 继续计息，直至还清。",
                      "If a month is overdue, interest keeps running at {rate}/day on its unpaid principal from the "
                      "due date until it is paid."),
}
