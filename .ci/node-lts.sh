# Sourced by .ci/run: puts a Node.js of the LTS line CI tests (24) first on PATH. A machine whose node is
# older gets npm's `node@24` package (the official binary, from the npm registry) in a cache folder of its
# own; npm itself stays the machine's and runs on that node.
KFASHION_CI_NODE_MAJOR=24
if ! node --version 2>/dev/null | grep -q "^v${KFASHION_CI_NODE_MAJOR}\."; then
  node_home="${XDG_CACHE_HOME:-$HOME/.cache}/kfashion-ci/node${KFASHION_CI_NODE_MAJOR}"
  if [ ! -x "$node_home/node_modules/node/bin/node" ]; then
    mkdir -p "$node_home"
    npm install --prefix "$node_home" --no-audit --no-fund --no-save --loglevel=error "node@${KFASHION_CI_NODE_MAJOR}"
  fi
  export PATH="$node_home/node_modules/node/bin:$PATH"
fi
echo "CI on Node.js $(node --version) with npm $(npm --version)"
