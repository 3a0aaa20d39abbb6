"""Fake cmake, c++ and ninja for building llama-server without a compiler: the process boundary
of `localaik runtime install`'s build.

`cmake -S … -B tree` writes `tree/build.ninja`; `cmake --build tree …` prints ninja's `[n/m]`
lines for the steps not done yet (a resumed build numbers only what is left, as ninja does),
one step per `FAKE_BUILD_STEP_SECONDS`, and ends with `tree/bin/llama-server`. It stops with
exit 2 after step `FAKE_BUILD_STOP_AT` (an interrupted build), and waits for the file
`FAKE_BUILD_GATE` before its first step. Every configure and build is logged to
`FAKE_BUILD_CALLS`.
"""

from __future__ import annotations

from pathlib import Path

STEPS = 10
COMMIT = "abcdef0"

CMAKE = f"""#!/bin/sh
case "$1" in
  --version) echo "cmake version 3.99.0 (fake)"; exit 0 ;;
  -S) tree="$4"; echo "configure $tree" >> "$FAKE_BUILD_CALLS"; mkdir -p "$tree"
      echo "# fake" > "$tree/build.ninja"; echo "-- Build files have been written to: $tree"
      exit 0 ;;
  --build) tree="$2"; echo "build $tree" >> "$FAKE_BUILD_CALLS" ;;
  *) echo "fake cmake: unexpected $*" >&2; exit 9 ;;
esac
if [ -n "$FAKE_BUILD_GATE" ]; then
  while [ ! -e "$FAKE_BUILD_GATE" ]; do sleep 0.05; done
fi
done=$(cat "$tree/steps-done" 2>/dev/null || echo 0)
left=$(({STEPS} - done))
n=0
while [ "$done" -lt {STEPS} ]; do
  if [ -n "$FAKE_BUILD_STOP_AT" ] && [ "$done" -ge "$FAKE_BUILD_STOP_AT" ]; then
    echo "ninja: build stopped: interrupted by user."; exit 2
  fi
  [ -n "$FAKE_BUILD_STEP_SECONDS" ] && sleep "$FAKE_BUILD_STEP_SECONDS"
  n=$((n + 1)); done=$((done + 1))
  echo "[$n/$left] Building CXX object step$done.o"
  echo "$done" > "$tree/steps-done"
done
mkdir -p "$tree/bin"
printf '#!/bin/sh\\necho "version: 1 (build 1, commit {COMMIT})"\\n' > "$tree/bin/llama-server"
chmod +x "$tree/bin/llama-server"
"""

NINJA = f"""#!/bin/sh
# only `ninja -C tree -t commands llama-server`: the build's {STEPS} commands
i=0
while [ $i -lt {STEPS} ]; do i=$((i + 1)); echo "c++ -c step$i.cpp"; done
"""

CXX = """#!/bin/sh
echo "c++ (fake) 1.0"
"""


def install_fake_build_tools(folder: Path) -> Path:
    """The three tools in `folder` (put it first on PATH); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("cmake", CMAKE), ("ninja", NINJA), ("c++", CXX)):
        tool = folder / name
        tool.write_text(text)
        tool.chmod(0o755)
    return folder
