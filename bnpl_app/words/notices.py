"""The notices before every automatic deduction, the failed attempts and the retries they
announce, and the late-fee rule a notice names when an amount may still rise (``domain.rules``:
``upcoming_notice``, ``failed_notice``, ``early_failed_notice``, ``notice_text``'s tails)."""

NOTICES: dict[str, tuple[str, str]] = {
    "n.upcoming.title": ("即将自动扣款", "Automatic payment coming up"),
    "n.upcoming.body": ("“{product}”第 {seq}/{periods} 期将于 {when} 从{method}自动扣款 {amount}，请保持余额充足。",
                        "{amount} for “{product}” (installment {seq}/{periods}) will be taken automatically from "
                        "{method} at {when}. Please keep enough in it."),
    "n.upcoming.body.changed": ("“{product}”第 {seq}/{periods} 期的扣款金额已更新为 {amount}，仍将于 {when} 从{method}自动扣款。",
                                "The amount for “{product}” (installment {seq}/{periods}) is now {amount}; it will still be "
                                "taken automatically from {method} at {when}."),
    "n.failed.body.late": ("“{product}”第 {seq}/{periods} 期 {amount} 扣款失败：自动扣款方式余额不足。已逾期 {days} 天，宽限期已过。",
                           "{amount} for “{product}” (installment {seq}/{periods}) could not be taken: no automatic-payment "
                           "method had enough. It is {days} days overdue; the grace period is over."),
    "n.early_failed.title": ("提前扣款未成功", "Early payment not taken"),
    "n.early_failed.body": ("“{product}”第 {seq}/{periods} 期提前自动扣款 {amount} 未成功：自动扣款方式余额不足。"
                            "本期尚未逾期，到期时间 {due}。",
                            "The early automatic payment of {amount} for “{product}” (installment {seq}/{periods}) was "
                            "not taken: no automatic-payment method had enough. It is not overdue; it is due at {due}."),
    "n.tail.method": ("扣款方式：{method}。", " It will be taken from {method}."),
    "n.tail.next": ("下次扣款：{next}，从{method}扣款 {amount}。", " Next attempt: {next}, {amount} from {method}."),
    "n.tail.late_rule": ("该期已逾期，在此之前金额可能按订单的滞纳金规则增加：宽限期 {grace_days} 天后每天按本金的 {rate} 累计，"
                         "最多为本金的 {cap}。",
                         " It is overdue, so the amount may rise before then by your order's late-fee rule: {rate} of the "
                         "principal a day after the {grace_days}-day grace period, at most {cap} of it."),
}
