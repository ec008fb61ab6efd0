"""Prompts: templates that leave other braces alone, a versioned catalog, scorers, tuners.

    from workbench.prompts import PromptTemplate, PromptCatalog, ExactMatchScorer, LLMJudgeScorer
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "PromptTemplate": "workbench.prompts.template:PromptTemplate",
    "PromptCatalog": "workbench.prompts.catalog:PromptCatalog",
    "Prompt": "workbench.prompts.catalog:Prompt",
    "Score": "workbench.prompts.scorer:Score",
    "Scorer": "workbench.prompts.scorer:Scorer",
    "RowScorer": "workbench.prompts.scorer:RowScorer",
    "KeywordScorer": "workbench.prompts.scorer:KeywordScorer",
    "ExactMatchScorer": "workbench.prompts.scorer:ExactMatchScorer",
    "ContainsScorer": "workbench.prompts.scorer:ContainsScorer",
    "RegexScorer": "workbench.prompts.scorer:RegexScorer",
    "NumericScorer": "workbench.prompts.scorer:NumericScorer",
    "JSONFieldScorer": "workbench.prompts.scorer:JSONFieldScorer",
    "FunctionScorer": "workbench.prompts.scorer:FunctionScorer",
    "LLMJudgeScorer": "workbench.prompts.scorer:LLMJudgeScorer",
    "PromptTuner": "workbench.prompts.tuners:PromptTuner",
    "ClassificationPromptTuner": "workbench.prompts.tuners:ClassificationPromptTuner",
    "MultiClassPromptTuner": "workbench.prompts.tuners:MultiClassPromptTuner",
    "ExtractionPromptTuner": "workbench.prompts.tuners:ExtractionPromptTuner",
    "JudgedPromptTuner": "workbench.prompts.tuners:JudgedPromptTuner",
    "ReflectivePromptTuner": "workbench.prompts.tuners:ReflectivePromptTuner",
    "TuneResult": "workbench.prompts.tuners:TuneResult",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ = sorted(_LAZY)
