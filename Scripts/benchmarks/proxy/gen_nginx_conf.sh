#!/usr/bin/env bash
# Write an nginx config for Scripts/bench.sh (adapted from the nginx anchor benchmark).
#
# usage: gen_nginx_conf.sh <kind> <prefix_dir> <listen_port> [stub_status_port] [prediction]
#   kind:
#     stub    POST /v1/models/m:predict -> 200 '{"predictions":[<prediction>]}' on <listen_port>,
#             plus /stub_status (accepted connections, requests) on <stub_status_port>
#     proxy   reverse proxy -> legacy stub, upstream keep-alive
#     mirror  proxy + `mirror` of every request (with body) to the learner stub, response discarded
# env: NGINX_WORKERS (default 1), LEGACY_PORT (18081), LEARNER_PORT (18082)
# The config goes to <prefix_dir>/conf/nginx.conf (path printed on stdout). Everything binds 127.0.0.1.
set -euo pipefail
kind=$1; prefix=$2; port=$3; status_port=${4:-}; prediction=${5:-0.5}
workers=${NGINX_WORKERS:-1}
legacy_port=${LEGACY_PORT:-18081}
learner_port=${LEARNER_PORT:-18082}
mkdir -p "$prefix"/{conf,logs,tmp}
conf=$prefix/conf/nginx.conf

main_block() {
cat <<CONF
worker_processes $workers;
daemon off;
master_process on;
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log warn;
worker_rlimit_nofile 16384;
events {
    worker_connections 8192;
}
http {
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path       $prefix/tmp/proxy;
    fastcgi_temp_path     $prefix/tmp/fastcgi;
    uwsgi_temp_path       $prefix/tmp/uwsgi;
    scgi_temp_path        $prefix/tmp/scgi;
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_buffer_size 16k;   # keep the ~300 B body in memory
    client_max_body_size 1m;
CONF
}

upstream_block() {  # $1 name  $2 port
cat <<CONF
    upstream $1 {
        server 127.0.0.1:$2;
        keepalive 512;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }
CONF
}

case $kind in
stub)
    [[ -n $status_port ]] || { echo "gen_nginx_conf.sh: stub needs a stub_status port" >&2; exit 2; }
    { main_block
      cat <<CONF
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /v1/models/m:predict {
            default_type application/json;
            return 200 '{"predictions":[$prediction]}';
        }
        location / { return 404; }
    }
    server {
        listen 127.0.0.1:$status_port;
        location = /stub_status { stub_status; }
        location / { return 404; }
    }
}
CONF
    } > "$conf" ;;
proxy|mirror)
    mirror=""
    if [[ $kind == mirror ]]; then
        mirror="mirror /_shadow;
            mirror_request_body on;"
    fi
    { main_block
      upstream_block legacy "$legacy_port"
      upstream_block learner "$learner_port"
      cat <<CONF
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /v1/models/m:predict {
            $mirror
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://legacy;
        }
        location = /_shadow {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://learner\$request_uri;
        }
        location / { return 404; }
    }
}
CONF
    } > "$conf" ;;
*) echo "gen_nginx_conf.sh: unknown kind '$kind' (stub | proxy | mirror)" >&2; exit 2 ;;
esac
echo "$conf"
