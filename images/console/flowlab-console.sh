# The learner's docker console, for interactive bash: a prompt and a terminal title that say this
# is the lab's docker console (not a shell in a container), a word of welcome, and `docker` as a
# function that tells Flowlab which command its requests belong to, so the trainer sees what was
# typed. Completion's own docker calls (COMP_LINE is set) and scripts use the CLI as it is.
[ -n "${BASH_VERSION-}" ] || return 0
case $- in *i*) ;; *) return 0 ;; esac

PS1='\[\e]0;docker console · lab ${FLOWLAB_LAB:-}\a\]docker console (lab ${FLOWLAB_LAB:-}) $ '

docker() {
  if [ -n "${COMP_LINE-}" ] || [ ! -r "${DOCKER_CONFIG:-/run/docker}/config.json" ]; then
    command docker "$@"
    return
  fi
  local dir words run rc
  dir=$(mktemp -d "${DOCKER_CONFIG:-/run/docker}/cmd.XXXXXX") || { command docker "$@"; return; }
  words=$(printf '%s\0' "$@" | head -c 1500 | base64 -w0)
  run="$RANDOM$RANDOM$$"
  sed 's/^{"HttpHeaders":{/{"HttpHeaders":{"X-Flowlab-Command":"'"$words"'","X-Flowlab-Run":"'"$run"'",/' "${DOCKER_CONFIG:-/run/docker}/config.json" > "$dir/config.json"
  command docker --config "$dir" "$@"
  rc=$?
  rm -rf "$dir"
  return $rc
}

if [ -z "${FLOWLAB_WELCOMED-}" ]; then
  export FLOWLAB_WELCOMED=1
  cat <<'MSG'
This is your lab's docker console. The docker CLI here sees and changes only this lab's
containers and networks (short names work: docker logs web, docker network inspect backend).
Try: docker ps, docker network ls, docker port <service>, docker logs <service>.
MSG
fi
