# What this version of the cluster stack knows, asked of its own software.
# Runs in a throwaway node container with no network, as hacluster; every
# section starts `### <what>: <where it comes from>`.
export HOME=/tmp LC_ALL=C.UTF-8
echo '### packages: dpkg-query -W'
dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n' pacemaker corosync pcs pcs-web-ui 2>/dev/null
daemons=/usr/lib/pacemaker
[ -x "$daemons/pacemaker-schedulerd" ] || daemons=/usr/libexec/pacemaker
if crm_attribute --list-options=cluster --all --output-as=xml >/tmp/cluster-options.xml 2>/dev/null; then
  echo '### cluster options: crm_attribute --list-options=cluster --all --output-as=xml'
  cat /tmp/cluster-options.xml
  echo '### fencing options: crm_resource --list-options=fencing --all --output-as=xml'
  crm_resource --list-options=fencing --all --output-as=xml
else
  for daemon in schedulerd controld based; do
    echo "### cluster options: pacemaker-$daemon metadata"
    "$daemons/pacemaker-$daemon" metadata
  done
  echo '### fencing options: pacemaker-fenced metadata'
  "$daemons/pacemaker-fenced" metadata
fi
echo '### crm_mon options: crm_mon --help-all'
crm_mon --help-all
echo '### pcsd environment: pcs/daemon/env.py, pcsd/*.rb, pcs/lib'
python3 - <<'PY'
import ast, glob, os, re
import pcs, pcs.settings as settings, pcs.daemon.env as env
reads = {}
tree = ast.parse(open(env.__file__).read())
names = {}
for node in tree.body:
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        for target in node.targets:
            if isinstance(target, ast.Name) and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value.value):
                names[target.id] = node.value.value
# A variable pcsd reads is one its environment loader names.
for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EnvLoader"):
    for node in ast.walk(cls):
        if isinstance(node, ast.Name) and node.id in names:
            reads.setdefault(names[node.id], "pcs/daemon/env.py")
ruby = getattr(settings, "pcsd_exec_location", "/usr/share/pcsd")
for path in sorted(glob.glob(os.path.join(ruby, "*.rb"))):
    for var in re.findall(r"ENV\[['\"]([A-Z][A-Z0-9_]*)['\"]\]", open(path, errors="replace").read()):
        reads.setdefault(var, path)
root = os.path.dirname(pcs.__file__)
for path in sorted(glob.glob(os.path.join(root, "lib", "**", "*.py"), recursive=True)):
    for var in re.findall(r"\.get\(\s*['\"](PCSD_[A-Z0-9_]*)['\"]", open(path, errors="replace").read()):
        reads.setdefault(var, "pcs/" + os.path.relpath(path, root))
for var in sorted(reads):
    print(var + "\t" + reads[var])
public = getattr(settings, "pcsd_public_dir", os.path.join(ruby, "public"))
webui = getattr(settings, "pcsd_webui_dir", os.path.join(public, "ui"))
print("### pcs web ui: pcs/settings.py")
print(webui + "\t" + ("present" if os.path.isdir(webui) else "absent"))
PY
echo '### corosync keys: corosync.conf(5)'
zcat /usr/share/man/man5/corosync.conf.5.gz
echo '### quorum keys: votequorum(5)'
zcat /usr/share/man/man5/votequorum.5.gz
