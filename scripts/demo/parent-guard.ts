// Preloaded into every demo child (`node --import`): if the demo process goes away without
// stopping its children (SIGKILL, a crash), the child is re-parented and stops itself, so no
// process and no port outlives the demo.
const parent = Number(process.env['INBOARD_DEMO_PARENT']);
if (Number.isInteger(parent) && parent > 0) {
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
    }
  }, 500);
  timer.unref();
}
