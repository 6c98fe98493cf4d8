// The C interface of wasm_vm.h over wabt's interpreter (wabt 1.0.32, Debian 12's libwabt.a).
// Every wabt call is wrapped: nothing C++ (exceptions included) crosses into the C side.
#include "wasm_vm.h"

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "wabt/binary-reader.h"
#include "wabt/error.h"
#include "wabt/feature.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/interp/interp.h"

using namespace wabt;
using namespace wabt::interp;

namespace {

// wabt runs a call to completion (Func::Call); only Thread::Run(n) takes an instruction
// budget, and it is public while starting a call on a thread (PushValues, PushCall) and
// collecting its results (PopValues) are private. An explicit template instantiation may
// name private members (C++17 [temp.spec]/6), which reaches those three without patching
// wabt; the budget is what lets a stop request or a deadline end guest code that never
// calls the host.
template <typename Tag, typename Tag::type M>
struct Expose {
	friend typename Tag::type Member(Tag) { return M; }
};
struct PushValuesTag {
	using type = void (Thread::*)(const ValueTypes &, const Values &);
	friend type Member(PushValuesTag);
};
struct PushCallTag {
	using type = RunResult (Thread::*)(const DefinedFunc &, Trap::Ptr *);
	friend type Member(PushCallTag);
};
struct PopValuesTag {
	using type = void (Thread::*)(const ValueTypes &, Values *);
	friend type Member(PopValuesTag);
};
template struct Expose<PushValuesTag, &Thread::PushValues>;
template struct Expose<PushCallTag, &Thread::PushCall>;
template struct Expose<PopValuesTag, &Thread::PopValues>;

// Instructions between two checks of the stop flag and the deadline (~0.1 ms of guest code).
constexpr int kSlice = 10000;
constexpr uint32_t kDefaultMaxPages = 4096;   // 256 MiB
constexpr uint64_t kMaxTableEntries = 1 << 20;

uint64_t now_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool parse_types(const char *spec, ValueTypes *out)
{
	for (const char *c = spec ? spec : ""; *c; c++) {
		if (*c == 'i')
			out->push_back(ValueType::I32);
		else if (*c == 'I')
			out->push_back(ValueType::I64);
		else
			return false;
	}
	return true;
}

std::string type_list(const ValueTypes &types)
{
	std::string s = "(";
	for (size_t i = 0; i < types.size(); i++) {
		if (i)
			s += ", ";
		s += GetName(types[i]);
	}
	return s + ")";
}

std::string signature(const FuncType &t)
{
	return type_list(t.params) + " -> " + type_list(t.results);
}

}  // namespace

struct eu_wasm_vm {
	std::string name;
	Store store;
	Module::Ptr module;
	Instance::Ptr instance;
	Memory::Ptr memory;
	Table::Ptr table;
	DefinedFunc::Ptr start;                   // `_start`
	std::vector<DefinedFunc::Ptr> start_funcs; // the start section, run before _start
	std::vector<eu_wasm_import> imports;      // the ones the module uses, in import order
	void *ctx = nullptr;
	Thread *thread = nullptr;                 // while guest code runs
	std::atomic<uint64_t> interrupt_at{0};    // CLOCK_MONOTONIC ns; 0: not asked
	std::string trap_msg;                     // from eu_wasm_vm_trap
	int depth = 0;                            // nested call_table
	// a callback that failed: how and why, so the run it unwinds reports that, not the
	// host function's trap
	enum eu_wasm_end unwind_end = EU_WASM_RETURNED;
	eu_error unwind_err;

	eu_wasm_vm() : store(Features{}) {}
};

namespace {

Result host_call(eu_wasm_vm *vm, size_t idx, const Values &params, Values &results,
		 Trap::Ptr *out_trap)
{
	const eu_wasm_import &imp = vm->imports[idx];
	uint64_t args[16] = {0}, res[4] = {0};
	size_t np = strlen(imp.params), nr = strlen(imp.results);
	if (np > 16 || nr > 4 || params.size() != np || results.size() != nr) {
		*out_trap = Trap::New(vm->store, "host function arity mismatch");
		return Result::Error;
	}
	for (size_t i = 0; i < np; i++)
		args[i] = imp.params[i] == 'I' ? params[i].Get<u64>() : params[i].Get<u32>();
	vm->trap_msg.clear();
	enum eu_wasm_host_rc rc = imp.fn(vm, vm->ctx, args, res);
	if (rc != EU_WASM_HOST_OK) {
		*out_trap = Trap::New(vm->store, vm->trap_msg.empty()
							 ? std::string(imp.name) + " failed"
							 : vm->trap_msg);
		return Result::Error;
	}
	for (size_t i = 0; i < nr; i++)
		results[i] = imp.results[i] == 'I' ? Value::Make((u64)res[i])
						   : Value::Make((u32)res[i]);
	return Result::Ok;
}

// Runs func on thread in slices until it returns, traps, is interrupted or passes deadline_ns
// (0: none). The thread is left unusable after anything but a return: the caller unwinds.
enum eu_wasm_end drive(eu_wasm_vm *vm, Thread &thread, DefinedFunc &func, const Values &params,
		       Values *results, uint64_t deadline_ns, uint32_t limit_ms, eu_error *err)
{
	const FuncType &type = func.type();
	Trap::Ptr trap;
	(thread.*Member(PushValuesTag{}))(type.params, params);
	RunResult r = (thread.*Member(PushCallTag{}))(func, &trap);
	while (r == RunResult::Ok) {
		uint64_t at = vm->interrupt_at.load(std::memory_order_relaxed);
		if (at && now_ns() >= at) {
			eu_error_set(err, -EINTR, "%s: stopped", vm->name.c_str());
			return EU_WASM_INTERRUPTED;
		}
		if (deadline_ns && now_ns() > deadline_ns) {
			eu_error_set(err, -ETIMEDOUT,
				     "%s: a callback did not return within %u ms: stopped",
				     vm->name.c_str(), limit_ms);
			return EU_WASM_INTERRUPTED;
		}
		r = thread.Run(kSlice, &trap);
	}
	if (r == RunResult::Return) {
		(thread.*Member(PopValuesTag{}))(type.results, results);
		return EU_WASM_RETURNED;
	}
	if (vm->unwind_end != EU_WASM_RETURNED) {
		*err = vm->unwind_err;
		return vm->unwind_end;
	}
	eu_error_set(err, -EFAULT, "%s: trap: %s", vm->name.c_str(),
		     trap ? trap->message().c_str() : "exception");
	return EU_WASM_TRAPPED;
}

const eu_wasm_import *find_import(const eu_wasm_vm_opts *opts, const ImportType &t)
{
	for (size_t i = 0; i < opts->n_imports; i++)
		if (t.module == opts->imports[i].module && t.name == opts->imports[i].name)
			return &opts->imports[i];
	return nullptr;
}

int check_imports(eu_wasm_vm *vm, const ModuleDesc &desc, const eu_wasm_vm_opts *opts,
		  eu_error *err)
{
	for (const ImportDesc &imp : desc.imports) {
		const ImportType &t = imp.type;
		if (t.type->kind != ExternKind::Func)
			return eu_error_set(err, -ENOTSUP,
					    "%s imports %s '%s.%s', which this runtime does not "
					    "provide (only functions are imported)",
					    vm->name.c_str(), GetName(t.type->kind), t.module.c_str(),
					    t.name.c_str());
		const FuncType &ft = *cast<FuncType>(t.type.get());
		const eu_wasm_import *ours = find_import(opts, t);
		if (!ours)
			return eu_error_set(err, -ENOTSUP,
					    "%s imports function '%s.%s' %s, which this runtime "
					    "does not provide",
					    vm->name.c_str(), t.module.c_str(), t.name.c_str(),
					    signature(ft).c_str());
		ValueTypes p, r;
		if (!parse_types(ours->params, &p) || !parse_types(ours->results, &r))
			return eu_error_set(err, -EINVAL, "bad signature of our import %s",
					    ours->name);
		FuncType want(p, r);
		if (ft.params != want.params || ft.results != want.results)
			return eu_error_set(err, -EINVAL,
					    "%s imports '%s.%s' as %s, but it is %s",
					    vm->name.c_str(), t.module.c_str(), t.name.c_str(),
					    signature(ft).c_str(), signature(want).c_str());
		vm->imports.push_back(*ours);
	}
	return 0;
}

// Caps what the module may allocate: its memory (declared size and growth) and tables.
int limit_module(eu_wasm_vm *vm, ModuleDesc &desc, uint32_t max_pages, eu_error *err)
{
	for (MemoryDesc &m : desc.memories) {
		Limits &l = m.type.limits;
		if (l.is_64 || l.is_shared)
			return eu_error_set(err, -ENOTSUP, "%s: 64-bit or shared memory is not supported",
					    vm->name.c_str());
		if (l.initial > max_pages)
			return eu_error_set(err, -EFBIG,
					    "%s declares %llu pages of memory; the limit is %u "
					    "(%u MiB)",
					    vm->name.c_str(), (unsigned long long)l.initial, max_pages,
					    max_pages / 16);
		if (!l.has_max || l.max > max_pages) {
			l.max = max_pages;
			l.has_max = true;
		}
	}
	for (TableDesc &t : desc.tables) {
		Limits &l = t.type.limits;
		if (l.initial > kMaxTableEntries)
			return eu_error_set(err, -EFBIG, "%s declares a table of %llu entries",
					    vm->name.c_str(), (unsigned long long)l.initial);
		if (!l.has_max || l.max > kMaxTableEntries) {
			l.max = kMaxTableEntries;
			l.has_max = true;
		}
	}
	return 0;
}

int find_exports(eu_wasm_vm *vm, eu_error *err)
{
	const auto &types = vm->module->export_types();
	const RefVec &refs = vm->instance->exports();
	for (size_t i = 0; i < types.size() && i < refs.size(); i++) {
		const ExportType &e = types[i];
		if (e.name == "_start" && e.type->kind == ExternKind::Func &&
		    vm->store.Is<DefinedFunc>(refs[i]))
			vm->start = vm->store.UnsafeGet<DefinedFunc>(refs[i]);
		else if (e.name == "memory" && e.type->kind == ExternKind::Memory)
			vm->memory = vm->store.UnsafeGet<Memory>(refs[i]);
		else if (e.name == "__indirect_function_table" && e.type->kind == ExternKind::Table)
			vm->table = vm->store.UnsafeGet<Table>(refs[i]);
	}
	// a module linked without --export-table still has its table: callbacks need only that
	if (!vm->table && !vm->instance->tables().empty())
		vm->table = vm->store.UnsafeGet<Table>(vm->instance->tables()[0]);
	if (!vm->memory && !vm->instance->memories().empty())
		vm->memory = vm->store.UnsafeGet<Memory>(vm->instance->memories()[0]);
	if (!vm->start)
		return eu_error_set(err, -ENOEXEC,
				    "%s exports no `_start` function: not a WASI command module",
				    vm->name.c_str());
	if (vm->start->type().params.size() || vm->start->type().results.size())
		return eu_error_set(err, -ENOEXEC, "%s: `_start` has the type %s, not () -> ()",
				    vm->name.c_str(), signature(vm->start->type()).c_str());
	if (!vm->memory)
		return eu_error_set(err, -ENOEXEC, "%s has no memory", vm->name.c_str());
	return 0;
}

int vm_build(eu_wasm_vm *vm, const void *bytes, size_t size, const eu_wasm_vm_opts *opts,
	     eu_error *err)
{
	if (size < 8 || memcmp(bytes, "\0asm", 4))
		return eu_error_set(err, -ENOEXEC, "%s is not a WebAssembly module (no \\0asm magic)",
				    vm->name.c_str());
	Errors errors;
	ModuleDesc desc;
	ReadBinaryOptions ro(vm->store.features(), nullptr, false, true, false);
	if (Failed(ReadBinaryInterp(vm->name, bytes, size, ro, &errors, &desc))) {
		const Error *e = errors.empty() ? nullptr : &errors.front();
		return eu_error_set(err, -ENOEXEC, "%s is not a valid WebAssembly module: %s%s%zx",
				    vm->name.c_str(), e ? e->message.c_str() : "unreadable",
				    e ? " at offset 0x" : "", e ? e->loc.offset : (size_t)0);
	}
	int ret = check_imports(vm, desc, opts, err);
	if (!ret)
		ret = limit_module(vm, desc, opts->max_memory_pages ? opts->max_memory_pages
								    : kDefaultMaxPages, err);
	if (ret)
		return ret;
	// the start section runs later under the same budget as _start, not inside Instantiate
	std::vector<Index> starts;
	for (const StartDesc &s : desc.starts)
		starts.push_back(s.func_index);
	desc.starts.clear();

	vm->module = Module::New(vm->store, std::move(desc));
	RefVec imports;
	for (size_t i = 0; i < vm->imports.size(); i++) {
		ValueTypes p, r;
		parse_types(vm->imports[i].params, &p);
		parse_types(vm->imports[i].results, &r);
		imports.push_back(
			HostFunc::New(vm->store, FuncType(p, r),
				      [vm, i](Thread &, const Values &params, Values &results,
					      Trap::Ptr *out_trap) {
					      return host_call(vm, i, params, results, out_trap);
				      })
				.ref());
	}
	Trap::Ptr trap;
	vm->instance = Instance::Instantiate(vm->store, vm->module.ref(), imports, &trap);
	if (!vm->instance)
		return eu_error_set(err, -ENOEXEC, "%s cannot be instantiated: %s", vm->name.c_str(),
				    trap ? trap->message().c_str() : "unknown reason");
	for (Index fi : starts) {
		Ref f = vm->instance->funcs()[fi];
		if (!vm->store.Is<DefinedFunc>(f))
			return eu_error_set(err, -ENOTSUP, "%s: its start function is an import",
					    vm->name.c_str());
		vm->start_funcs.push_back(vm->store.UnsafeGet<DefinedFunc>(f));
	}
	return find_exports(vm, err);
}

}  // namespace

extern "C" {

int eu_wasm_vm_new(const void *bytes, size_t size, const struct eu_wasm_vm_opts *opts,
		   struct eu_wasm_vm **out, eu_error *err)
{
	*out = nullptr;
	eu_wasm_vm *vm = nullptr;
	try {
		vm = new eu_wasm_vm();
		vm->name = opts->name ? opts->name : "module";
		vm->ctx = opts->ctx;
		int ret = vm_build(vm, bytes, size, opts, err);
		if (ret) {
			delete vm;
			return ret;
		}
	} catch (const std::bad_alloc &) {
		delete vm;
		return eu_error_set(err, -ENOMEM, "%s: out of memory loading the module",
				    opts->name ? opts->name : "module");
	} catch (const std::exception &e) {
		delete vm;
		return eu_error_set(err, -ENOEXEC, "%s cannot be loaded: %s",
				    opts->name ? opts->name : "module", e.what());
	}
	*out = vm;
	return 0;
}

void eu_wasm_vm_free(struct eu_wasm_vm *vm)
{
	delete vm;
}

enum eu_wasm_end eu_wasm_vm_run_start(struct eu_wasm_vm *vm, eu_error *err)
{
	try {
		std::vector<DefinedFunc::Ptr> funcs = vm->start_funcs;
		funcs.push_back(vm->start);
		vm->unwind_end = EU_WASM_RETURNED;
		for (DefinedFunc::Ptr &f : funcs) {
			Thread thread(vm->store);
			vm->thread = &thread;
			Values results;
			enum eu_wasm_end end = drive(vm, thread, *f, Values{}, &results, 0, 0, err);
			vm->thread = nullptr;
			if (end != EU_WASM_RETURNED)
				return end;
		}
		return EU_WASM_RETURNED;
	} catch (const std::bad_alloc &) {
		vm->thread = nullptr;
		eu_error_set(err, -ENOMEM, "%s: out of memory", vm->name.c_str());
	} catch (const std::exception &e) {
		vm->thread = nullptr;
		eu_error_set(err, -EFAULT, "%s: %s", vm->name.c_str(), e.what());
	}
	return EU_WASM_TRAPPED;
}

enum eu_wasm_end eu_wasm_vm_call_table(struct eu_wasm_vm *vm, uint32_t index,
				       const uint32_t *args, size_t n_args, int32_t *result,
				       uint32_t limit_ms)
{
	eu_error err;
	eu_error_clear(&err);
	if (!vm->thread) {
		vm->trap_msg = "callback outside a running module";
		return EU_WASM_TRAPPED;
	}
	if (!vm->table || index >= vm->table->size()) {
		vm->trap_msg = "callback " + std::to_string(index) +
			       " is not an index of the module's function table";
		return EU_WASM_TRAPPED;
	}
	Ref ref = vm->table->UnsafeGet(index);
	if (ref == Ref::Null || !vm->store.Is<DefinedFunc>(ref)) {
		vm->trap_msg = "callback " + std::to_string(index) +
			       " is not a function of the module";
		return EU_WASM_TRAPPED;
	}
	DefinedFunc::Ptr func = vm->store.UnsafeGet<DefinedFunc>(ref);
	const FuncType &t = func->type();
	ValueTypes want_p(n_args, ValueType::I32), want_r{ValueType::I32};
	if (t.params != want_p || t.results != want_r) {
		vm->trap_msg = "callback " + std::to_string(index) + " has the type " +
			       signature(t) + ", not " + signature(FuncType(want_p, want_r));
		return EU_WASM_TRAPPED;
	}
	Values params;
	for (size_t i = 0; i < n_args; i++)
		params.push_back(Value::Make((u32)args[i]));
	Values results;
	uint64_t deadline = limit_ms ? now_ns() + (uint64_t)limit_ms * 1000000ull : 0;
	enum eu_wasm_end end;
	try {
		vm->depth++;
		end = drive(vm, *vm->thread, *func, params, &results, deadline, limit_ms, &err);
		vm->depth--;
	} catch (const std::bad_alloc &) {
		vm->depth--;
		eu_error_set(&err, -ENOMEM, "%s: out of memory", vm->name.c_str());
		end = EU_WASM_TRAPPED;
	}
	if (end != EU_WASM_RETURNED) {
		vm->unwind_end = end;
		vm->unwind_err = err;
		vm->trap_msg = err.msg;
		return end;
	}
	*result = (int32_t)results[0].Get<u32>();
	return EU_WASM_RETURNED;
}

void eu_wasm_vm_interrupt(struct eu_wasm_vm *vm, uint32_t after_ms)
{
	uint64_t at = now_ns() + (uint64_t)after_ms * 1000000ull;
	uint64_t cur = vm->interrupt_at.load(std::memory_order_relaxed);
	while ((!cur || at < cur) &&
	       !vm->interrupt_at.compare_exchange_weak(cur, at, std::memory_order_relaxed)) {
	}
}

uint8_t *eu_wasm_vm_mem(struct eu_wasm_vm *vm, uint32_t ptr, uint32_t len)
{
	u64 size = vm->memory->ByteSize();
	if ((u64)ptr > size || (u64)len > size - ptr)
		return nullptr;
	return vm->memory->UnsafeData() + ptr;
}

const char *eu_wasm_vm_str(struct eu_wasm_vm *vm, uint32_t ptr)
{
	u64 size = vm->memory->ByteSize();
	if ((u64)ptr >= size)
		return nullptr;
	const char *s = (const char *)vm->memory->UnsafeData() + ptr;
	return memchr(s, 0, size - ptr) ? s : nullptr;
}

void eu_wasm_vm_trap(struct eu_wasm_vm *vm, const char *fmt, ...)
{
	char buf[EU_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vm->trap_msg = buf;
}

const char *eu_wasm_vm_name(const struct eu_wasm_vm *vm)
{
	return vm->name.c_str();
}

}  // extern "C"
