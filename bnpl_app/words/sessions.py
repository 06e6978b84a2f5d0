"""Words of the account's security page: the signed-in devices, ending the others, the password
change."""

SESSIONS: dict[str, tuple[str, str]] = {
    "sessions.title": ("账户安全", "Account security"),
    "sessions.devices": ("已登录的设备", "Signed-in devices"),
    "sessions.devices_hint": ("登录 {hours} 小时后或连续 {idle} 分钟未使用会自动退出。不认识的设备请立即退出并修改密码。",
                              "A session ends {hours} hours after log-in, or after {idle} minutes unused. "
                              "Sign out any device you do not recognise, and change your password."),
    "sessions.this_device": ("本设备", "This device"),
    "sessions.signed_in": ("登录于", "Signed in"),
    "sessions.last_seen": ("最近使用", "Last used"),
    "sessions.from": ("网络地址", "Address"),
    "sessions.unknown": ("未知", "unknown"),
    "sessions.unknown_browser": ("未知浏览器", "Unknown browser"),
    "sessions.end_all": ("退出其他所有设备", "Sign out all other devices"),
    "sessions.ended": ("已退出其他 {n} 个设备", "Signed out {n} other device(s)"),
    "sessions.none_other": ("没有其他设备登录", "No other device is signed in"),
    "sessions.password": ("修改密码", "Change password"),
    "sessions.password_hint": ("修改后，除本设备外的所有设备都会退出登录。", "Every other device is signed out when you change it."),
    "sessions.password_current": ("当前密码", "Current password"),
    "sessions.password_new": ("新密码（至少 {min} 位）", "New password (at least {min} characters)"),
    "sessions.password_save": ("保存新密码", "Save new password"),
    "sessions.password_changed": ("密码已修改，其他 {n} 个设备已退出", "Password changed; {n} other device(s) signed out"),
    "sessions.current_password_wrong": ("当前密码不正确", "the current password is wrong"),
    "sessions.password_changed_meanwhile": ("密码刚刚在别处被修改，请重新输入当前密码",
                                            "the password was just changed elsewhere; enter the current one again"),
    "sessions.link": ("账户安全", "Security"),
}
