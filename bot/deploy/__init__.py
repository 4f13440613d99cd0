"""The production shape on one machine: systemd units and nginx's site file in deploy/, read
and rendered here for the administrator (`python -m bot.deploy render-nginx`) and for the
local cluster (`make cluster`, the cluster system test, `make bench`)."""
