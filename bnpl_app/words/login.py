"""Words of log-in throttling and of the demo's safety: the lock told plainly (the same whether or
not the account exists) and the demo handlers a visitor may not use."""

LOGIN = {
    "login.throttled": ("尝试次数过多，请 {minutes} 分钟后再试", "too many attempts, try again in {minutes} minutes"),
    "login.throttled_1": ("尝试次数过多，请 1 分钟后再试", "too many attempts, try again in 1 minute"),
    "login.clock_needs_login": ("登录后才能调整演示时钟", "log in to move the demo clock"),
    "login.demo_off": ("此功能仅在演示模式下可用", "this is only available in demo mode"),
    "login.demo_ops_password": ("运营账号需用密码登录", "the operator account logs in with its password"),
}
