"""Words of the payment methods the shopper controls: binding and unbinding cards, which methods
automatic deductions may use and in which order, and the refusals that keep something to deduct
from while anything is owed."""

METHODS = {
    # refusals (typed errors in services.wallet / payments)
    "method.removed": ("该支付方式已解绑，不能再使用", "this payment method was unbound and cannot be used"),
    "method.removed.hint": ("请选择其他支付方式，或在钱包页绑定新的银行卡",
                            "choose another method, or bind a new card on the wallet page"),
    "method.last_auto_remove": ("您还有待还款项或试用中的订单，不能解绑最后一个允许自动扣款的支付方式",
                                "you still owe money or have orders in trial, so the last payment method that "
                                "auto-deduction may use cannot be unbound"),
    "method.last_auto_remove.hint": ("请先绑定另一张银行卡并允许自动扣款，或付清后再解绑",
                                     "bind another card and allow auto-deduction on it first, or unbind it once "
                                     "everything is paid"),
    "method.last_auto_off": ("您还有待还款项或试用中的订单，不能关闭最后一个支付方式的自动扣款",
                             "you still owe money or have orders in trial, so auto-deduction cannot be switched off "
                             "on the last payment method that allows it"),
    "method.last_auto_off.hint": ("请先为另一个支付方式打开自动扣款",
                                  "switch auto-deduction on for another payment method first"),
    "method.wallet_balance": ("余额钱包里还有 {balance}，不能解绑", "your wallet still holds {balance} and cannot be unbound"),
    "method.wallet_balance.hint": ("可以关闭它的自动扣款，余额仍可用于手动还款",
                                   "switch its auto-deduction off instead: the balance stays available for manual payments"),
    "method.wallet_bound": ("余额钱包已在使用中", "your wallet is already in use"),
    "method.move": ("无法再移动该支付方式", "this payment method cannot move further"),
    # eligibility: "at least one payment method bound" means one auto-deduction may use
    "elig.no_auto_method": ("您的支付方式都不允许自动扣款", "none of your payment methods allows auto-deduction"),
    "elig.no_auto_method.hint": ("在钱包页为一个支付方式打开自动扣款，或绑定一张新卡",
                                 "switch auto-deduction on for one of them on the wallet page, or bind a new card"),
    # the wallet screen
    "wallet.methods_order_note": ("自动扣款按以下顺序尝试允许自动扣款的方式；关闭的方式只用于手动付款。",
                                  "Automatic deductions try the methods that allow it, in this order; a method with "
                                  "it switched off is used only when you pay by hand."),
    "wallet.method_autopay": ("自动扣款", "Auto-deduction"),
    "wallet.method_autopay_of": ("{label} 允许自动扣款", "Allow auto-deduction from {label}"),
    "wallet.method_up": ("上移", "Move up"),
    "wallet.method_down": ("下移", "Move down"),
    "wallet.method_remove": ("解绑", "Unbind"),
    "wallet.method_remove_ask": ("确定解绑吗？解绑后不再用于任何付款。", "Unbind it? It will not be used for any payment again."),
    "wallet.method_remove_yes": ("确认解绑", "Unbind"),
    "wallet.method_remove_no": ("取消", "Cancel"),
    "wallet.method_add": ("绑定新银行卡", "Bind a card"),
    "wallet.method_add_close": ("收起", "Close"),
    "wallet.method_removed": ("支付方式已解绑", "Payment method unbound"),
    "wallet.autopay_on": ("已允许自动扣款", "Auto-deduction allowed"),
    "wallet.autopay_off": ("已关闭自动扣款：该方式只用于手动付款", "Auto-deduction switched off: this method is for manual payments only"),
    "wallet.order_saved": ("扣款顺序已调整", "Deduction order changed"),
    "wallet.no_auto": ("不自动扣款", "Not for auto-deduction"),
    "wallet.unbound": ("余额钱包已解绑。", "Your wallet is unbound."),
    "wallet.rebind": ("重新启用余额钱包", "Use the wallet again"),
    "wallet.rebound": ("余额钱包已重新启用", "Wallet in use again"),
    "credit.method_no_auto": ("没有允许自动扣款的支付方式：去钱包设置", "No payment method allows auto-deduction: set one in your wallet"),
}
