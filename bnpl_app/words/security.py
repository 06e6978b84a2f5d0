"""What a hostile or broken browser is told: a number that is not one, an upload refused before it
is read."""

SECURITY: dict[str, tuple[str, str]] = {
    "input.whole_number": ("请输入 {lo} 到 {hi} 之间的整数（只能用数字 0-9）",
                           "enter a whole number from {lo} to {hi} (digits 0-9 only)"),
    "upload.body_too_large": ("上传内容过大：最多 {max_files} 个文件，每个不超过 {max_mb} MB",
                              "upload too large: at most {max_files} files of {max_mb} MB each"),
    "upload.not_a_file": ("上传的内容不是文件", "what was sent is not an uploaded file"),
    "upload.not_an_upload": ("此操作不接受文件上传", "this action does not take file uploads"),
}
