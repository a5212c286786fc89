#!/bin/sh
# Lists the event files under LAKE_URI/log_data/ into OUTPUT_URI/lake_inventory.txt: with the AWS CLI and the
# task's role for s3:// (the image has it), with find for a local folder (a local run).
set -eu
list() {
    case "$LAKE_URI" in
        s3://*) aws s3 ls --recursive "$LAKE_URI/log_data/" | awk '{print $4}' ;;
        *) (cd "$LAKE_URI" && find log_data -type f | sort) ;;
    esac
}
case "$OUTPUT_URI" in
    s3://*) list | aws s3 cp - "$OUTPUT_URI/lake_inventory.txt"; count=$(list | wc -l) ;;
    *) mkdir -p "$OUTPUT_URI"; list > "$OUTPUT_URI/lake_inventory.txt"; count=$(wc -l < "$OUTPUT_URI/lake_inventory.txt") ;;
esac
echo "listed $count event files under $LAKE_URI/log_data/ into $OUTPUT_URI/lake_inventory.txt"
