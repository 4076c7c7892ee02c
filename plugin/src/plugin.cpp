//===- plugin.cpp - hotpatch: the clang plugin shell ----------------------===//
//
// A thin shell over the C policy core (hp_policy.h):
//  - parses -fplugin-arg-hotpatch-NAME=VALUE into the policy, with the core's
//    messages as custom error diagnostics;
//  - learns from the AST what the IR cannot tell: source locations, and which
//    attributes the user wrote (patchable_function_entry(0) leaves no trace
//    in IR; clang 19 has no ms_hook_prologue, -fms-hotpatch is global);
//  - registers two module passes through CodeGenOptions::PassBuilderCallbacks:
//    the policy at pipeline start (every -O level, -flto pre-link) and the
//    table at optimizer last (after the optimizer deleted what it could),
//    telling the core whether the module goes straight to machine code;
//  - maps the core's reports to clang diagnostics, applying -w and -Werror
//    itself: clang 19 leaves custom diagnostics at the level they were
//    created with.
//
//===----------------------------------------------------------------------===//

#include "hp_policy.h"
#include "digests.h"

#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/AST/Attr.h"
#include "clang/AST/Decl.h"
#include "clang/AST/DeclCXX.h"
#include "clang/AST/Mangle.h"
#include "clang/Basic/CodeGenOptions.h"
#include "clang/Basic/Diagnostic.h"
#include "clang/Basic/FileManager.h"
#include "clang/Basic/LangOptions.h"
#include "clang/Basic/Sanitizers.h"
#include "clang/Basic/TargetInfo.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendOptions.h"
#include "clang/Frontend/FrontendPluginRegistry.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/IR/ReplaceConstant.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

using namespace clang;

namespace {

/// What the AST said about one function definition.
struct DeclFacts {
  SourceLocation Loc;
  unsigned Flags = 0; // HP_POLICY_DECL_*
};

/// Shared by the action, the AST consumer and the passes; the passes run in
/// codegen, after the whole translation unit was parsed.
struct PluginState {
  hp_policy *Policy = nullptr;
  bool Verbose = false;
  DiagnosticsEngine *Diags = nullptr;
  SourceManager *SM = nullptr; // module-wide reports point at the main file's start
  llvm::StringMap<DeclFacts> Decls; // keyed by IR name
  hp_policy_stats Stats = {0, 0, 0, 0};

  PluginState() = default;
  PluginState(const PluginState &) = delete;
  PluginState &operator=(const PluginState &) = delete;
  ~PluginState() { hp_policy_destroy(Policy); }

  /// Report \p Message with the severity clang would give a warning of ours.
  void warn(SourceLocation Loc, llvm::StringRef Message) {
    if (Diags->getIgnoreAllWarnings())
      return;
    DiagnosticsEngine::Level L = Diags->getWarningsAsErrors()
                                     ? DiagnosticsEngine::Error
                                     : DiagnosticsEngine::Warning;
    Diags->Report(Loc, Diags->getCustomDiagID(L, "%0")) << Message;
  }

  void remark(SourceLocation Loc, llvm::StringRef Message) {
    Diags->Report(Loc, Diags->getCustomDiagID(DiagnosticsEngine::Remark, "%0"))
        << Message;
  }

  SourceLocation mainFileStart() const {
    return SM ? SM->getLocForStartOfFile(SM->getMainFileID()) : SourceLocation();
  }

  SourceLocation locationOf(LLVMValueRef Fn) const {
    if (!Fn)
      return mainFileStart();
    auto It = Decls.find(llvm::unwrap<llvm::GlobalValue>(Fn)->getName());
    return It == Decls.end() ? SourceLocation() : It->second.Loc;
  }

  static unsigned declFlags(void *Ctx, LLVMValueRef Fn) {
    auto *S = static_cast<PluginState *>(Ctx);
    if (S->Decls.empty()) // the usual case: no function with attributes of interest
      return 0;
    auto It = S->Decls.find(llvm::unwrap<llvm::Function>(Fn)->getName());
    return It == S->Decls.end() ? 0 : It->second.Flags;
  }

  static void report(void *Ctx, hp_policy_diag Diag, LLVMValueRef Fn,
                     const char *Message) {
    auto *S = static_cast<PluginState *>(Ctx);
    if (Diag == HP_POLICY_DIAG_VERBOSE || Diag == HP_POLICY_DIAG_FIX_NOTE)
      S->remark(S->locationOf(Fn), Message);
    else if (Diag == HP_POLICY_DIAG_FIX_ERROR)
      S->Diags->Report(S->locationOf(Fn),
                       S->Diags->getCustomDiagID(DiagnosticsEngine::Error, "hotpatch fix: %0"))
          << Message;
    else
      S->warn(S->locationOf(Fn), Message);
  }

  // Fix mode needs two things LLVM-C lacks.
  static void expandConstantUsers(void *, LLVMValueRef G) {
    llvm::convertUsersOfConstantsToInstructions({llvm::unwrap<llvm::Constant>(G)});
  }
  static void deleteBody(void *, LLVMValueRef Fn) {
    llvm::unwrap<llvm::Function>(Fn)->deleteBody();
  }

  hp_policy_host host() {
    return {this, &declFlags, &report, &expandConstantUsers, &deleteBody};
  }
};

/// Pipeline start: choose the functions and set their attributes.
class InstrumentPass : public llvm::PassInfoMixin<InstrumentPass> {
  std::shared_ptr<PluginState> S;

public:
  explicit InstrumentPass(std::shared_ptr<PluginState> S) : S(std::move(S)) {}
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &) {
    hp_policy_host Host = S->host();
    hp_status St = hp_policy_fix(S->Policy, llvm::wrap(&M), &Host);
    if (St == HP_ERR_NO_MEMORY)
      S->Diags->Report(S->Diags->getCustomDiagID(
          DiagnosticsEngine::Error, "hotpatch: out of memory"));
    if (St != HP_OK) // the errors were reported; the module is not worth instrumenting
      return llvm::PreservedAnalyses::none();
    if (hp_policy_instrument(S->Policy, llvm::wrap(&M), &Host, &S->Stats) != HP_OK)
      S->Diags->Report(S->Diags->getCustomDiagID(
          DiagnosticsEngine::Error, "hotpatch: out of memory"));
    return llvm::PreservedAnalyses::none();
  }
  static bool isRequired() { return true; }
};

/// Optimizer last: write the table for the functions that survived.
class TablePass : public llvm::PassInfoMixin<TablePass> {
  std::shared_ptr<PluginState> S;

public:
  explicit TablePass(std::shared_ptr<PluginState> S) : S(std::move(S)) {}
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &) {
    if (hp_policy_emit_table(S->Policy, llvm::wrap(&M), &S->Stats) != HP_OK ||
        hp_policy_emit_units(S->Policy, llvm::wrap(&M)) != HP_OK)
      S->Diags->Report(S->Diags->getCustomDiagID(
          DiagnosticsEngine::Error, "hotpatch: out of memory"));
    if (S->Verbose) {
      std::string Msg;
      llvm::raw_string_ostream OS(Msg);
      OS << "hotpatch: " << S->Stats.instrumented << " of "
         << S->Stats.defined << " functions instrumented, "
         << S->Stats.records << " table records";
      S->remark(S->mainFileStart(), OS.str());
    }
    return llvm::PreservedAnalyses::none();
  }
  static bool isRequired() { return true; }
};

/// Records function definitions a diagnostic may be about: their IR name,
/// location and the hotpatch-relevant attributes the user wrote. Only those
/// with attributes (naked, patchable_function_entry, ...) unless every
/// function may get one (verbose remarks, -fpatchable-function-entry=,
/// -fsanitize=function):
/// at -O0 recording every function was a measurable share of the plugin's cost.
class HotpatchConsumer : public ASTConsumer {
  std::shared_ptr<PluginState> S;
  std::unique_ptr<MangleContext> Mangle;
  bool All;

public:
  HotpatchConsumer(std::shared_ptr<PluginState> S, bool All) : S(std::move(S)), All(All) {}

  void Initialize(ASTContext &Ctx) override {
    Mangle.reset(Ctx.createMangleContext());
  }

  bool HandleTopLevelDecl(DeclGroupRef DG) override {
    for (Decl *D : DG) {
      if (auto *FD = dyn_cast<FunctionDecl>(D))
        remember(FD);
      else if (auto *VD = dyn_cast<VarDecl>(D); VD && All && VD->getIdentifier())
        S->Decls[VD->getName()].Loc = VD->getLocation(); // fix mode names variables too
    }
    return true;
  }

private:
  void remember(const FunctionDecl *FD) {
    if (!FD->doesThisDeclarationHaveABody() || !FD->getIdentifier() ||
        isa<CXXConstructorDecl>(FD) || isa<CXXDestructorDecl>(FD))
      return;
    if (!All && !FD->hasAttrs())
      return;
    llvm::SmallString<64> Name;
    if (Mangle && Mangle->shouldMangleDeclName(FD)) {
      llvm::raw_svector_ostream OS(Name);
      Mangle->mangleName(GlobalDecl(FD), OS);
    } else {
      Name = FD->getName();
    }
    DeclFacts &F = S->Decls[Name];
    F.Loc = FD->getLocation();
    F.Flags = HP_POLICY_DECL_KNOWN;
    if (FD->hasAttr<PatchableFunctionEntryAttr>())
      F.Flags |= HP_POLICY_DECL_EXPLICIT_PFE;
  }
};

class HotpatchAction : public PluginASTAction {
  std::shared_ptr<PluginState> S = std::make_shared<PluginState>();

protected:
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &CI,
                                                 llvm::StringRef) override {
    S->Diags = &CI.getDiagnostics();
    S->SM = &CI.getSourceManager();
    // LTO links always use function sections (lld sets them for codegen).
    const CodeGenOptions &CG = CI.getCodeGenOpts();
    hp_policy_set_function_sections(
        S->Policy, CG.FunctionSections || CG.PrepareForLTO || CG.PrepareForThinLTO);
    bool FuncSanitizer = CI.getLangOpts().Sanitize.has(SanitizerKind::Function);
    hp_policy_set_function_sanitizer(S->Policy, FuncSanitizer);
    // Straight to machine code: the table may be module assembly (format 3).
    frontend::ActionKind Action = CI.getFrontendOpts().ProgramAction;
    hp_policy_set_object_output(
        S->Policy, (Action == frontend::EmitObj || Action == frontend::EmitAssembly) &&
                       !CG.PrepareForLTO && !CG.PrepareForThinLTO);
    // An object the link reads: its code digests go into it once it is written (src/digests.c).
    const std::string &Out = CI.getFrontendOpts().OutputFile;
    if (Action == frontend::EmitObj && !CG.PrepareForLTO && !CG.PrepareForThinLTO &&
        CI.getTarget().getTriple().isOSBinFormatCOFF() && !hp_policy_fix_mode(S->Policy) &&
        !Out.empty() && Out != "-") {
      llvm::SmallString<256> Path(Out); // where clang writes it (-working-directory)
      if (CI.hasFileManager())
        CI.getFileManager().FixupRelativePath(Path);
      hp_plugin_carry_digests(Path.c_str());
    }
    std::shared_ptr<PluginState> State = S;
    CI.getCodeGenOpts().PassBuilderCallbacks.push_back(
        [State](llvm::PassBuilder &PB) {
          PB.registerPipelineStartEPCallback(
              [State](llvm::ModulePassManager &MPM, llvm::OptimizationLevel) {
                MPM.addPass(InstrumentPass(State));
              });
          PB.registerOptimizerLastEPCallback(
              [State](llvm::ModulePassManager &MPM, llvm::OptimizationLevel) {
                MPM.addPass(TablePass(State));
              });
        });
    return std::make_unique<HotpatchConsumer>(
        S, S->Verbose || CG.PatchableFunctionEntryCount != 0 || FuncSanitizer ||
               hp_policy_fix_mode(S->Policy));
  }

  bool ParseArgs(const CompilerInstance &CI,
                 const std::vector<std::string> &Args) override {
    DiagnosticsEngine &D = CI.getDiagnostics();
    if (hp_policy_create(&S->Policy) != HP_OK) {
      D.Report(D.getCustomDiagID(DiagnosticsEngine::Error,
                                 "hotpatch: out of memory"));
      return false;
    }
    for (const std::string &Arg : Args) {
      char Msg[256];
      if (hp_policy_set_option(S->Policy, Arg.c_str(), Msg, sizeof Msg) != HP_OK) {
        D.Report(D.getCustomDiagID(
            DiagnosticsEngine::Error,
            "hotpatch plugin: %0 (in '-fplugin-arg-hotpatch-%1')"))
            << Msg << Arg;
        return false;
      }
      if (Arg == "verbose")
        S->Verbose = true;
    }
    return true;
  }

  ActionType getActionType() override { return AddBeforeMainAction; }
};

} // namespace

static FrontendPluginRegistry::Add<HotpatchAction>
    X("hotpatch", "make every function hotpatchable (padding + 2-byte entry)");
