#!/usr/bin/env bash
# Retraining from a folder of images that grows (one sub-folder per class), run by cron:
#   15 2 * * *  cd /srv/digits && examples/cron/retrain.sh >>logs/retrain.log 2>&1
# Each run makes a dataset for what the folder holds now (only when that changed), trains a
# job on it (or continues the job an earlier run left unfinished: --resume auto), and once the
# job is done points WORK/latest at it and writes its validation accuracy next to it. Running
# it again with nothing new does nothing. An overlapping run exits 1 at once (the dataset's and
# the job's locks), leaving the running one alone.
#   IMAGES        the image folder (default /srv/photos)
#   WORK          where datasets/, jobs/ and latest go (default work)
#   SPEC          the job spec (default configs/jobs/alexnet-photos.yaml)
#   CREATE_FLAGS  digits-dataset create options (default 256x256 colour, 25% validation)
set -euo pipefail
IMAGES=${IMAGES:-/srv/photos}
WORK=${WORK:-work}
SPEC=${SPEC:-configs/jobs/alexnet-photos.yaml}
CREATE_FLAGS=${CREATE_FLAGS:---width 256 --height 256 --channels 3 --val-pct 25}

# The folder's content (names, sizes, times) names its dataset and job.
version=$(cd "$IMAGES" && find -L . -type f -printf '%p %s %T@\n' | LC_ALL=C sort | sha256sum | cut -c1-12)
dataset=$WORK/datasets/$version
job=$WORK/jobs/$version
mkdir -p "$WORK/datasets" "$WORK/jobs"
echo "$(date -u +%FT%TZ) images $IMAGES: version $version"

# dataset.yaml is written last: a dataset without it was interrupted and is made again.
if [ ! -e "$dataset/dataset.yaml" ]; then
  # shellcheck disable=SC2086 # CREATE_FLAGS is a list of options
  digits-dataset create --train "$IMAGES" $CREATE_FLAGS --seed 1 --force -o "$dataset"
fi
digits-train "$SPEC" --dataset "$dataset" --resume auto -o "$job"
if [ "$(digits-train status --json "$job" | grep -o '"state":"[a-z]*"')" = '"state":"done"' ] &&
   [ "$(readlink "$WORK/latest" 2>/dev/null)" != "jobs/$version" ]; then
  digits-infer evaluate --job "$job" --dataset "$dataset" --split val --json >"$job/val.json.tmp"
  mv "$job/val.json.tmp" "$job/val.json"
  ln -sfn "jobs/$version" "$WORK/latest.tmp"
  mv -T "$WORK/latest.tmp" "$WORK/latest"
  echo "latest: $job"
fi
