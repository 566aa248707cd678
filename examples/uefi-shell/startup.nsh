echo "hello from the UEFI shell, booted by Containerx"
ver
reset -s
